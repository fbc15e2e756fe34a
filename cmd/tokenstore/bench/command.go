package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
)

// Usage is the bench subcommand's help.
const Usage = `usage: tokenstore bench create|authenticate|grant|refresh|mixed --url URL[,URL...]
         --user NAME[:PASSWORD] [--password PASSWORD] [--clients N] [--duration D]
         [--rate R] [--mix PERCENT] [--credential AUTHORIZATION] [--ca-cert FILE] [--json]

  create        POST /_security/api_key (keys named tokenstore-bench, expiring in 1d)
  authenticate  GET /_security/_authenticate with an API key made first (or --credential)
  grant         password grants of --user, POST /_security/oauth2/token
  refresh       each client refreshes its own chain of refresh tokens
  mixed         --mix percent authentications (default 90), the rest creates

The password comes from --user NAME:PASSWORD, --password, or the environment
variable TOKENSTORE_PASSWORD (which no other user of the machine can read
from the process list). Clients spread over the URLs, each on a keep-alive
connection. --rate paces all clients together; without it each sends as soon
as it has its answer. A line of progress goes to stderr every second; the
report to stdout (--json: one JSON object).
`

// passwordEnv is where the password may come from instead of a flag.
const passwordEnv = "TOKENSTORE_PASSWORD"

// Command runs `tokenstore bench`: it parses args, runs until the duration
// has passed or SIGINT/SIGTERM, and writes the report. It fails when the
// run could not start, and when any operation failed (after the report).
func Command(args []string, stdout, stderr io.Writer) error {
	cfg, asJSON, err := parse(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	cfg.Progress = stderr
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		err = rep.WriteJSON(stdout)
	} else {
		err = rep.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if n := rep.Errors(); n > 0 {
		return fmt.Errorf("%d operations failed", n)
	}
	return nil
}

// parse turns the command line into a Config; getenv is os.Getenv.
func parse(args []string, getenv func(string) string, stderr io.Writer) (Config, bool, error) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, Usage)
		return Config{}, false, fmt.Errorf("bench needs a workload: %s", workloadList())
	}
	cfg := Config{Workload: args[0]}
	fs := flag.NewFlagSet("bench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, Usage) }
	urls := fs.String("url", "", "base URLs of the nodes, comma-separated")
	user := fs.String("user", "", "NAME or NAME:PASSWORD of the user the requests authenticate as")
	password := fs.String("password", "", "the user's password (default: $"+passwordEnv+")")
	fs.IntVar(&cfg.Clients, "clients", 16, "clients sending at once")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to send")
	fs.Float64Var(&cfg.Rate, "rate", 0, "total requests per second over all clients (0: unpaced)")
	fs.Float64Var(&cfg.Mix, "mix", 0, "mixed: percentage of authentications, the rest creates (default 90)")
	fs.StringVar(&cfg.Credential, "credential", "", "authenticate, mixed: the Authorization header to send instead of a new API key")
	caCert := fs.String("ca-cert", "", "PEM file of the CA that signed the nodes' HTTP certificates (default: the system's)")
	asJSON := fs.Bool("json", false, "write the report as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return Config{}, false, err
	}
	if fs.NArg() > 0 {
		return Config{}, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var mixGiven bool
	fs.Visit(func(f *flag.Flag) { mixGiven = mixGiven || f.Name == "mix" })
	if mixGiven && (cfg.Mix <= 0 || cfg.Mix >= 100) {
		return Config{}, false, fmt.Errorf("--mix is the percentage of authentications, between 0 and 100, got %g", cfg.Mix)
	}
	if _, ok := workloads[cfg.Workload]; !ok {
		fmt.Fprint(stderr, Usage)
		return Config{}, false, fmt.Errorf("unknown workload %q (one of %s)", cfg.Workload, workloadList())
	}
	if *urls != "" {
		cfg.URLs = strings.Split(*urls, ",")
	}
	var err error
	if cfg.User, cfg.Password, err = credentials(*user, *password, getenv(passwordEnv)); err != nil {
		return Config{}, false, err
	}
	if *caCert != "" {
		if cfg.RootCAs, err = cluster.LoadCertPool([]string{*caCert}); err != nil {
			return Config{}, false, fmt.Errorf("--ca-cert: %w", err)
		}
	}
	return cfg, *asJSON, cfg.check()
}

// credentials takes the password from exactly one place.
func credentials(user, password, env string) (string, string, error) {
	name, inline, hasInline := strings.Cut(user, ":")
	switch {
	case hasInline && password != "":
		return "", "", errors.New("the password is given twice: in --user NAME:PASSWORD and in --password")
	case hasInline:
		return name, inline, nil
	case password != "":
		return name, password, nil
	}
	return name, env, nil
}
