package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
)

const certsUsage = `usage: tokenstore certs ca   --out DIR [--days N]
       tokenstore certs node --ca DIR --name NODE [--hosts NAME,IP,...] --out DIR [--days N]

ca writes DIR/ca.crt and DIR/ca.key; node writes DIR/NODE.crt and DIR/NODE.key,
signed by the CA in --ca, for the names and addresses in --hosts (default
NODE,localhost,127.0.0.1). Keys are written with mode 0600; nothing is overwritten.
`

// certsCmd makes the cluster CA and node certificates, as
// elasticsearch-certutil ca / cert --pem do.
func certsCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "ca" && args[0] != "node") {
		fmt.Fprint(stderr, certsUsage)
		return errors.New("certs needs ca or node")
	}
	fs := flag.NewFlagSet("certs "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory to write into")
	days := fs.Int("days", 1095, "validity in days")
	caDir := fs.String("ca", "", "directory holding ca.crt and ca.key")
	name := fs.String("name", "", "the node's name")
	hosts := fs.String("hosts", "", "DNS names and IP addresses the certificate is valid for, comma-separated")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *out == "" || *days < 1 || fs.NArg() > 0 {
		fmt.Fprint(stderr, certsUsage)
		return errors.New("--out is required, --days must be at least 1, and no other arguments are taken")
	}
	if err := os.MkdirAll(*out, 0o700); err != nil {
		return err
	}
	validity := time.Duration(*days) * 24 * time.Hour
	if args[0] == "ca" {
		ca, err := cluster.NewCA("tokenstore CA", validity)
		if err != nil {
			return err
		}
		crt, key, err := ca.PEM()
		if err != nil {
			return err
		}
		return writeNew(stdout, filepath.Join(*out, "ca.crt"), crt, filepath.Join(*out, "ca.key"), key)
	}
	if *caDir == "" || *name == "" {
		fmt.Fprint(stderr, certsUsage)
		return errors.New("certs node needs --ca and --name")
	}
	crtPEM, err := os.ReadFile(filepath.Join(*caDir, "ca.crt"))
	if err != nil {
		return err
	}
	keyPEM, err := os.ReadFile(filepath.Join(*caDir, "ca.key"))
	if err != nil {
		return err
	}
	ca, err := cluster.ParseCA(crtPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("CA in %s: %w", *caDir, err)
	}
	if *hosts == "" {
		*hosts = *name + ",localhost,127.0.0.1"
	}
	dns, ips := cluster.ParseHosts(*hosts)
	crt, key, err := ca.Issue(*name, dns, ips, validity)
	if err != nil {
		return err
	}
	return writeNew(stdout, filepath.Join(*out, *name+".crt"), crt, filepath.Join(*out, *name+".key"), key)
}

// writeNew writes a certificate and its key, refusing to replace either.
func writeNew(stdout io.Writer, crtPath string, crt []byte, keyPath string, key []byte) error {
	for _, p := range []string{crtPath, keyPath} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: not overwriting it", p)
		}
	}
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(crtPath, crt, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s\n", crtPath, keyPath)
	return nil
}
