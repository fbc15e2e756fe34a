// Command tokenstore runs a node of the clustered credential service and
// its operator subcommands.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
	"github.com/tokenstore/tokenstore/cmd/tokenstore/bench"
	"github.com/tokenstore/tokenstore/node"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tokenstore:", err)
		os.Exit(1)
	}
}

const usage = `usage: tokenstore <command> [flags]

commands:
  serve           run a node (tokenstore serve --help for its flags)
  service-tokens  create, delete or list file-backed service account tokens
  snapshot        save, restore or inspect a portable backup of the credential state
  certs           create the cluster CA and node certificates for TLS
  cluster         show the members, or promote, demote or remove one
  bench           load a cluster: create, authenticate, grant, refresh or mixed
`

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "service-tokens":
		return serviceTokens(args[1:], stdout, stderr)
	case "snapshot":
		return snapshotCmd(args[1:], stdout, stderr)
	case "certs":
		return certsCmd(args[1:], stdout, stderr)
	case "cluster":
		return clusterCmd(args[1:], stdout, stderr)
	case "bench":
		return bench.Command(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}

// settingsFlag collects repeatable -E name=value arguments.
type settingsFlag node.Settings

func (s settingsFlag) String() string { return "" }

func (s settingsFlag) Set(v string) error {
	name, value, err := node.ParseSetting(v)
	if err != nil {
		return err
	}
	s[name] = value
	return nil
}

type serveFlags struct {
	nodeID, httpAddr, raftAddr, dataDir, configDir, logsDir, join, logLevel string
	bootstrap, nonVoter                                                     bool
	settings                                                                settingsFlag
}

func parseServeFlags(args []string, stderr io.Writer) (serveFlags, error) {
	f := serveFlags{settings: settingsFlag{}}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.nodeID, "node-id", "", "this node's id and name (default: the host name)")
	fs.StringVar(&f.httpAddr, "http-addr", "127.0.0.1:9200", "HTTP listen address")
	fs.StringVar(&f.raftAddr, "raft-addr", "127.0.0.1:9300", "Raft listen address")
	fs.StringVar(&f.dataDir, "data-dir", "./data", "directory for the Raft log, snapshots and config")
	fs.StringVar(&f.configDir, "config-dir", "", "directory of the service_tokens file (default DATA_DIR/config)")
	fs.StringVar(&f.logsDir, "logs-dir", "", "directory of the audit log <cluster.name>_audit.json (default DATA_DIR/logs)")
	fs.BoolVar(&f.bootstrap, "bootstrap", false, "bootstrap a new cluster with this node (ignored when the data dir has state)")
	fs.StringVar(&f.join, "join", "", "HTTP addresses of members to join, comma-separated")
	fs.BoolVar(&f.nonVoter, "non-voter", false, "join as a non-voting member (same as -E node.voter=false)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.Var(f.settings, "E", "an Elasticsearch setting name=value (repeatable)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if f.nodeID == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return f, errors.New("--node-id is required (no host name to default to)")
		}
		f.nodeID = h
	}
	if f.bootstrap && f.join != "" {
		return f, errors.New("--bootstrap and --join cannot be used together")
	}
	if f.nonVoter {
		if v, ok := f.settings["node.voter"]; ok && v != "false" {
			return f, fmt.Errorf("--non-voter contradicts -E node.voter=%s", v)
		}
		f.settings["node.voter"] = "false"
	}
	if f.bootstrap && f.settings["node.voter"] == "false" {
		return f, errors.New("a non-voter cannot --bootstrap: bootstrap a voter, then --join this node to it")
	}
	if hclog.LevelFromString(f.logLevel) == hclog.NoLevel {
		return f, fmt.Errorf("--log-level %q is not one of trace, debug, info, warn, error", f.logLevel)
	}
	return f, nil
}

// checkDataDir makes sure the data dir exists (creating it) and is writable.
func checkDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data dir %s is not usable: %w", dir, err)
	}
	probe := filepath.Join(dir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("data dir %s is not writable: %w", dir, err)
	}
	return os.Remove(probe)
}

func serve(args []string, stdout, stderr io.Writer) error {
	f, err := parseServeFlags(args, stderr)
	if err != nil {
		return err
	}
	if err := checkDataDir(f.dataDir); err != nil {
		return err
	}
	log := hclog.New(&hclog.LoggerOptions{Name: "tokenstore", Level: hclog.LevelFromString(f.logLevel), Output: stderr})
	var join []string
	if f.join != "" {
		join = strings.Split(f.join, ",")
	}
	joinCredential, err := joinCredential()
	if err != nil {
		return err
	}
	srv, err := node.Open(node.Config{
		JoinCredential: joinCredential,
		NodeID:         f.nodeID, HTTPAddr: f.httpAddr, RaftAddr: f.raftAddr, DataDir: f.dataDir,
		Bootstrap: f.bootstrap, Join: join, Settings: node.Settings(f.settings), Logger: log, ConfigDir: f.configDir,
		LogsDir: f.logsDir,
	})
	if err != nil {
		return err
	}
	log.Info("serving", "node", f.nodeID, "http", srv.URL(), "raft", f.raftAddr, "data_dir", f.dataDir)
	if f.bootstrap {
		go bootstrapElastic(srv, stdout, log)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Info("shutting down", "signal", s.String())
	case err := <-srv.Done():
		return fmt.Errorf("http server stopped: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// joinCredential is what this node shows when it joins (or re-registers
// its address): TOKENSTORE_JOIN_CREDENTIALS=user:password, else the
// elastic user with ELASTIC_PASSWORD. The user needs the all privilege.
// Without transport TLS the node also shows it on its calls to peers
// (catch-up, health, confirmations), so it is needed at every start.
func joinCredential() (string, error) {
	if v := os.Getenv("TOKENSTORE_JOIN_CREDENTIALS"); v != "" {
		if !strings.Contains(v, ":") {
			return "", errors.New("TOKENSTORE_JOIN_CREDENTIALS must be user:password")
		}
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(v)), nil
	}
	if p := os.Getenv("ELASTIC_PASSWORD"); p != "" {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte("elastic:"+p)), nil
	}
	return "", nil
}

// bootstrapElastic sets elastic's first password from ELASTIC_PASSWORD, or
// a generated one printed once on stdout (never to the log).
func bootstrapElastic(srv *node.Node, stdout io.Writer, log hclog.Logger) {
	password, generated := authn.Secret(os.Getenv("ELASTIC_PASSWORD")), false
	if password == "" {
		password, generated = authn.GeneratePassword(), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	set, err := srv.Authn().BootstrapElastic(ctx, password)
	if err != nil {
		log.Error("could not set the elastic password", "error", err)
		return
	}
	if set && generated {
		fmt.Fprintf(stdout, "\nThe password of the elastic user was generated; it is shown once:\n\n  %s\n\n", string(password))
	}
}
