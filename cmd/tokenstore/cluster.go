package main

import (
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/httpapi"
)

const clusterUsage = `usage: tokenstore cluster status  --url https://HOST:PORT --user NAME:PASSWORD [--ca-cert FILE]
       tokenstore cluster promote --url https://HOST:PORT --user NAME:PASSWORD [--ca-cert FILE] NODE_ID
       tokenstore cluster demote  --url https://HOST:PORT --user NAME:PASSWORD [--ca-cert FILE] NODE_ID
       tokenstore cluster remove  --url https://HOST:PORT --user NAME:PASSWORD [--ca-cert FILE] NODE_ID

status needs the monitor privilege; promote, demote and remove need all
(any node will do: the change is carried out by the leader).
`

// clusterCmd shows the membership or changes one member, through the
// membership API of any node.
func clusterCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, clusterUsage)
		return errors.New("cluster needs status, promote, demote or remove")
	}
	fs := flag.NewFlagSet("cluster "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "HTTP address of any node")
	user := fs.String("user", "", "NAME:PASSWORD of a user with monitor (status) or all (changes)")
	caCert := fs.String("ca-cert", "", "PEM file of the CA that signed the node's HTTP certificate (default: the system's)")
	if err := fs.Parse(reorderFlags(args[1:])); err != nil {
		return err
	}
	if *base == "" || !strings.Contains(*user, ":") {
		fmt.Fprint(stderr, clusterUsage)
		return errors.New("--url and --user NAME:PASSWORD are required")
	}
	c := &http.Client{Timeout: 30 * time.Second}
	if *caCert != "" {
		pool, err := cluster.LoadCertPool([]string{*caCert})
		if err != nil {
			return fmt.Errorf("--ca-cert: %w", err)
		}
		c.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	api := clusterAPI{client: c, base: strings.TrimSuffix(*base, "/") + "/_tokenstore/cluster",
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(*user))}
	cmd := args[0]
	if cmd == "status" {
		if fs.NArg() != 0 {
			return fmt.Errorf("cluster status takes no argument, got %q", fs.Arg(0))
		}
		return api.status(stdout)
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, clusterUsage)
		return fmt.Errorf("cluster %s needs exactly one NODE_ID", cmd)
	}
	id := fs.Arg(0)
	switch cmd {
	case "promote", "demote":
		return api.change(stdout, http.MethodPost, "/"+id+"/_"+cmd, cmd+"d", id)
	case "remove":
		return api.change(stdout, http.MethodDelete, "/"+id, "removed", id)
	}
	fmt.Fprint(stderr, clusterUsage)
	return fmt.Errorf("unknown cluster command %q", cmd)
}

type clusterAPI struct {
	client     *http.Client
	base, auth string
}

func (a clusterAPI) do(method, path string) ([]byte, error) {
	req, err := http.NewRequest(method, a.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", a.auth)
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("node answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func (a clusterAPI) status(stdout io.Writer) error {
	body, err := a.do(http.MethodGet, "")
	if err != nil {
		return fmt.Errorf("cluster status: %w", err)
	}
	var m httpapi.Membership
	if err := json.Unmarshal(body, &m); err != nil {
		return fmt.Errorf("cluster status: decode the answer: %w", err)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tROLE\tLEADER\tALIVE\tHTTP\tRAFT\tAPPLIED\tLAG\tLAST CONTACT\tVERSION")
	for _, s := range m.Members {
		role, leader, alive, contact := "non-voter", "", "no", "never"
		if s.Voter {
			role = "voter"
		}
		if s.Leader {
			leader = "*"
		}
		if s.Alive {
			alive = "yes"
		}
		if s.LastContactMS != nil {
			contact = (time.Duration(*s.LastContactMS) * time.Millisecond).String()
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.ID, role, leader, alive, s.HTTPAddress, s.RaftAddress,
			s.AppliedIndex, s.Lag, contact, s.Version)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "(as seen by %s; contact, applied index and lag are its view)\n", m.AnsweredBy)
	return nil
}

func (a clusterAPI) change(stdout io.Writer, method, path, done, id string) error {
	if _, err := a.do(method, path); err != nil {
		return fmt.Errorf("%s %s: %w", strings.TrimSuffix(done, "d"), id, err)
	}
	fmt.Fprintf(stdout, "%s %s\n", id, done)
	return nil
}
