// Command run starts a three-node tokenstore cluster as processes on
// 127.0.0.1:9200-9202 (HTTPS) and 9300-9302 (Raft over mutual TLS), and
// -non-voters non-voting members on the ports after them, with
// data under ./data/cluster and the CA and node certificates in
// ./data/cluster/certs, and stops them all on Ctrl-C. `make cluster` runs it.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

func main() {
	bin := flag.String("bin", "bin/tokenstore", "the tokenstore binary")
	dir := flag.String("data", "data/cluster", "data directory for the nodes")
	n := flag.Int("nodes", 3, "number of voters")
	nonVoters := flag.Int("non-voters", 0, "number of non-voting members beside the voters")
	plain := flag.Bool("plain", false, "plain HTTP and Raft, without TLS (development only)")
	flag.Parse()
	password := os.Getenv("ELASTIC_PASSWORD")
	if password == "" {
		password = "changeme"
	}
	// The audit log is on, as a production cluster's should be:
	// DATA/node-N/logs/tokenstore_audit.json.
	opts := testcluster.ProcessOptions{Env: []string{"ELASTIC_PASSWORD=" + password}, NonVoters: *nonVoters,
		Settings: map[string]string{"xpack.security.audit.enabled": "true"}}
	certs := filepath.Join(*dir, "certs")
	if !*plain {
		opts.CertsDir = certs
	}
	procs, err := testcluster.ProcessClusterWith(*bin, *dir, *n+*nonVoters, 9200, 9300, opts, os.Stderr)
	stop := func() {
		for _, p := range procs {
			if d, err := p.Signal(syscall.SIGTERM, 10*time.Second); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", p.ID, err)
			} else {
				fmt.Fprintf(os.Stderr, "%s stopped in %v\n", p.ID, d.Round(time.Millisecond))
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		stop()
		os.Exit(1)
	}
	fmt.Printf("\n%d voters and %d non-voters are running (data in %s). The elastic password is %q (set ELASTIC_PASSWORD to change it).\n", *n, *nonVoters, *dir, password)
	for _, p := range procs {
		fmt.Printf("  %s  %s\n", p.ID, p.URL())
	}
	printScrapeConfig(procs, password, certs, *plain)
	fmt.Printf("Audit logs: %s\n", filepath.Join(*dir, "node-*", "logs", "tokenstore_audit.json"))
	if *plain {
		fmt.Printf("\nTry:  curl -u elastic:%s 'http://127.0.0.1:9200/_cat/nodes?v'\nCtrl-C stops them all.\n\n", password)
	} else {
		fmt.Printf("\nTry:  curl --cacert %s -u elastic:%s 'https://127.0.0.1:9200/_cat/nodes?v'\nCtrl-C stops them all.\n\n",
			filepath.Join(certs, "ca.crt"), password)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	stop()
}

// printScrapeConfig makes an API key that may only monitor and prints the
// prometheus.yml scrape block for the nodes with it.
func printScrapeConfig(procs []*testcluster.Process, password, certs string, plain bool) {
	client, caFile := &http.Client{Timeout: 10 * time.Second}, ""
	if !plain {
		caFile, _ = filepath.Abs(filepath.Join(certs, "ca.crt"))
		pem, err := os.ReadFile(caFile)
		pool := x509.NewCertPool()
		if err != nil || !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintf(os.Stderr, "no scrape block: read %s: %v\n", caFile, err)
			return
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	key, err := monitorKey(client, procs[0].URL(), password)
	if err != nil {
		fmt.Fprintf(os.Stderr, "no scrape block: %v\n", err)
		return
	}
	var targets []string
	for _, p := range procs {
		targets = append(targets, p.HTTPAddr)
	}
	fmt.Printf("\nPrometheus scrapes them with this block in prometheus.yml (an API key with the monitor privilege):\n\n%s",
		testcluster.PrometheusScrapeConfig(targets, key, caFile))
}

// monitorKey creates the scrape API key, waiting out the first election.
func monitorKey(client *http.Client, base, password string) (string, error) {
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		req, _ := http.NewRequest(http.MethodPost, base+"/_security/api_key",
			strings.NewReader(`{"name":"prometheus","role_descriptors":{"prometheus":{"cluster":["monitor"]}}}`))
		req.SetBasicAuth("elastic", password)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			last = err
			continue
		}
		var out struct{ Encoded string }
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && err == nil && out.Encoded != "" {
			return out.Encoded, nil
		}
		last = fmt.Errorf("create the scrape API key: %s", resp.Status)
	}
	return "", last
}
