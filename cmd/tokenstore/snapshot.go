package main

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/snapshot"
)

const snapshotUsage = `usage: tokenstore snapshot save    --url https://HOST:PORT --user NAME:PASSWORD [--ca-cert FILE] FILE
       tokenstore snapshot restore --url https://HOST:PORT --user NAME:PASSWORD [--ca-cert FILE] FILE
       tokenstore snapshot inspect FILE
`

// snapshotCmd saves a portable backup from any node, restores one through
// the leader, or prints what a backup holds without a cluster.
func snapshotCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, snapshotUsage)
		return errors.New("snapshot needs save, restore or inspect")
	}
	fs := flag.NewFlagSet("snapshot "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "HTTP address of any node")
	user := fs.String("user", "", "NAME:PASSWORD of a user with manage_security (save) or all (restore)")
	caCert := fs.String("ca-cert", "", "PEM file of the CA that signed the node's HTTP certificate (default: the system's)")
	if err := fs.Parse(reorderFlags(args[1:])); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, snapshotUsage)
		return errors.New("snapshot needs exactly one FILE")
	}
	file := fs.Arg(0)
	if args[0] == "inspect" {
		return inspect(file, stdout)
	}
	if *base == "" || !strings.Contains(*user, ":") {
		fmt.Fprint(stderr, snapshotUsage)
		return errors.New("--url and --user NAME:PASSWORD are required")
	}
	if *caCert != "" {
		pool, err := cluster.LoadCertPool([]string{*caCert})
		if err != nil {
			return fmt.Errorf("--ca-cert: %w", err)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(*user))
	url := strings.TrimSuffix(*base, "/")
	switch args[0] {
	case "save":
		return save(url, auth, file, stdout)
	case "restore":
		return restore(url, auth, file, stdout)
	}
	fmt.Fprint(stderr, snapshotUsage)
	return fmt.Errorf("unknown snapshot command %q", args[0])
}

// reorderFlags lets flags follow the file argument.
func reorderFlags(args []string) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			flags = append(flags, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		} else {
			rest = append(rest, args[i])
		}
	}
	return append(flags, rest...)
}

var client = &http.Client{Timeout: 30 * time.Minute}

func save(url, auth, file string, stdout io.Writer) error {
	req, _ := http.NewRequest(http.MethodGet, url+"/_tokenstore/backup", nil)
	req.Header.Set("Authorization", auth)
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("save: node answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, resp.Body)
	if err == nil {
		err = tmp.Close()
	}
	if err != nil {
		return fmt.Errorf("save: %w", err)
	}
	// Check the copy before it replaces anything.
	f, _ := os.Open(tmp.Name())
	hdr, _, err := snapshot.Read(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("save: the downloaded backup does not verify: %w", err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s: %d bytes, cluster %s, last index %d\n", file, n, hdr.ClusterID, hdr.LastIndex)
	return nil
}

func restore(url, auth, file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	hdr, _, err := snapshot.Read(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("restore: %s: %w", file, err)
	}
	f, err = os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	req, _ := http.NewRequest(http.MethodPost, url+"/_tokenstore/backup/_restore", f)
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("restore: node answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(stdout, "restored %s (cluster %s, last index %d)\n", file, hdr.ClusterID, hdr.LastIndex)
	return nil
}

func inspect(file string, stdout io.Writer) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr, st, err := snapshot.Read(f)
	if err != nil {
		return fmt.Errorf("inspect %s: %w", file, err)
	}
	counts := st.Counts()
	fmt.Fprintf(stdout, "format version: %d\ncluster id: %s\nlast index: %d\ncreated: %s\n", hdr.FormatVersion,
		hdr.ClusterID, hdr.LastIndex, time.UnixMilli(hdr.Created).UTC().Format(time.RFC3339))
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		fmt.Fprintf(stdout, "%s: %d\n", k, counts[k])
	}
	return nil
}
