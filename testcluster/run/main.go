// Command run starts a three-node tokenstore cluster as processes on
// 127.0.0.1:9200-9202 (HTTPS) and 9300-9302 (Raft over mutual TLS), and
// -non-voters non-voting members on the ports after them, with
// data under ./data/cluster and the CA and node certificates in
// ./data/cluster/certs, and stops them all on Ctrl-C. `make cluster` runs it.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
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
	opts := testcluster.ProcessOptions{Env: []string{"ELASTIC_PASSWORD=" + password}, NonVoters: *nonVoters}
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
