package httpapi_test

import (
	"bytes"
	"crypto/tls"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// startNode starts a single bootstrapping node with these addresses and
// settings, logging into log.
func startNode(t *testing.T, httpAddr, raftAddr string, settings node.Settings, log *bytes.Buffer) (*node.Node, error) {
	t.Helper()
	settings["xpack.security.authc.password_hashing.algorithm"] = "bcrypt4"
	srv, err := node.Open(node.Config{NodeID: "n0", HTTPAddr: httpAddr, RaftAddr: raftAddr, DataDir: t.TempDir(),
		Bootstrap: true, Settings: settings, Logger: hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Warn})})
	if err == nil {
		t.Cleanup(srv.Kill)
	}
	return srv, err
}

// Finding 9b: like Elasticsearch's bootstrap checks, a node refuses to
// start when a port without TLS binds beyond loopback, unless the operator
// allows it, which is logged at warn level. Before the fix such a node
// started and served passwords in plain text to the network.
func TestPlainTextBindsLoopbackOnly(t *testing.T) {
	refused := map[string][2]string{
		"plain HTTP on every interface":  {"0.0.0.0:0", "127.0.0.1:0"},
		"plain Raft on every interface":  {"127.0.0.1:0", "0.0.0.0:0"},
		"plain HTTP with an empty host":  {":0", "127.0.0.1:0"},
		"plain Raft on an IPv6 wildcard": {"127.0.0.1:0", "[::]:0"},
	}
	for name, addrs := range refused {
		var log bytes.Buffer
		_, err := startNode(t, addrs[0], addrs[1], node.Settings{}, &log)
		if err == nil || !strings.Contains(err.Error(), "loopback") ||
			!strings.Contains(err.Error(), "tokenstore.security.allow_insecure_non_loopback") {
			t.Fatalf("%s: started or unclear error: %v", name, err)
		}
	}
	// HTTPS alone does not cover the Raft port.
	tlsSettings, err := testcluster.WriteNodeTLS(testcluster.TestCA(), filepath.Join(t.TempDir(), "tls"), "n0")
	if err != nil {
		t.Fatal(err)
	}
	httpsOnly := node.Settings{}
	for k, v := range tlsSettings {
		if strings.HasPrefix(k, "xpack.security.http.") {
			httpsOnly[k] = v
		}
	}
	var log bytes.Buffer
	if _, err := startNode(t, "0.0.0.0:0", "0.0.0.0:0", httpsOnly, &log); err == nil || !strings.Contains(err.Error(), "Raft address") {
		t.Fatalf("HTTPS without transport TLS, Raft on every interface: %v", err)
	}
	// With TLS on both ports any address will do.
	if _, err := startNode(t, "0.0.0.0:0", "127.0.0.1:0", node.Settings(tlsSettings), &log); err != nil {
		t.Fatalf("TLS node on every interface: %v", err)
	}
	// The explicit setting allows it, loudly.
	log.Reset()
	allowed := node.Settings{"tokenstore.security.allow_insecure_non_loopback": "true"}
	if _, err := startNode(t, "0.0.0.0:0", "127.0.0.1:0", allowed, &log); err != nil {
		t.Fatalf("allowed plain node: %v", err)
	}
	if !strings.Contains(log.String(), "[WARN]") || !strings.Contains(log.String(), "INSECURE") {
		t.Fatalf("no warning for an allowed plain node:\n%s", log.String())
	}
}

// Finding 11: the internal endpoints only nodes call need a node's
// credential in plain mode (a node certificate with TLS), and a confirmation
// for an index the log does not have is refused at once. Before the fix
// status and applied answered anyone, and confirm with a huge index held
// its request (and a goroutine) forever.
func TestInternalEndpointsNeedANodeCredentialAndBoundTheirWaits(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "manager", map[string]any{"cluster": []string{"manage"}})
	manager := putUser(t, c, "mgr", "mgr-password", "manager")
	putRole(t, c, "watcher", map[string]any{"cluster": []string{"monitor"}})
	nobody := putUser(t, c, "nobody", "nobody-password", "watcher")
	leader := c.Leader()
	paths := []string{"/_tokenstore/internal/status", "/_tokenstore/internal/applied", "/_tokenstore/internal/confirm?index=1",
		"/_tokenstore/internal/api_key_usage"}
	for _, path := range paths {
		for _, node := range []int{leader, c.Followers()[0]} {
			r := c.Do(node, http.MethodGet, path, "", nil)
			if r.Status != http.StatusUnauthorized || !strings.Contains(string(r.Body), "security_exception") || r.Header.Get("WWW-Authenticate") == "" {
				t.Fatalf("%s on node %d without credentials: %d %s", path, node, r.Status, r.Body)
			}
			for _, auth := range []string{nobody, manager} {
				if r := c.Do(node, http.MethodGet, path, auth, nil); r.Status != http.StatusForbidden {
					t.Fatalf("%s on node %d as a user without the all privilege: %d %s", path, node, r.Status, r.Body)
				}
			}
		}
	}
	if r := c.Do(leader, http.MethodGet, "/_tokenstore/internal/status", testcluster.Elastic, nil); r.Status != http.StatusOK {
		t.Fatalf("status with a node's credential: %d %s", r.Status, r.Body)
	}
	// A client that gives up long after any bound the node may keep.
	client := &http.Client{Timeout: 30 * time.Second}
	req, _ := http.NewRequest(http.MethodGet, c.URL(leader)+"/_tokenstore/internal/confirm?index=18446744073709551615", nil)
	req.Header.Set("Authorization", testcluster.Elastic)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("confirm of an index beyond the log did not answer: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("confirm of an index beyond the log: %d", resp.StatusCode)
	}
	// The cluster's own calls carry the credential: health sees 3 nodes.
	c.Eventually(10*time.Second, "health probes with the node credential", func() bool {
		r := c.Do(c.Followers()[0], http.MethodGet, "/_cluster/health", testcluster.Elastic, nil)
		return r.Status == http.StatusOK && r.JSON()["number_of_nodes"] == float64(3)
	})

	// With TLS the node certificate is what admits a caller.
	tc := testcluster.New(t, 1, testcluster.Options{TLS: true})
	noCert := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testcluster.TestCAPool()}}}
	for _, path := range paths {
		req, _ := http.NewRequest(http.MethodGet, tc.URL(0)+path, nil)
		req.Header.Set("Authorization", testcluster.Elastic)
		resp, err := noCert.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("TLS %s without a node certificate: %d", path, resp.StatusCode)
		}
	}
}

// Finding 9c: in plain mode a node sends no credential (the client's, on
// file-token fan-out, or its own, on health probes) to a member beyond
// loopback: nothing proves such a member is a node. Before the fix a member
// added with an address of the joiner's choice received elastic's password.
func TestPlainModeSendsNoCredentialBeyondLoopback(t *testing.T) {
	c := testcluster.New(t, 3)
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []string
	rogue := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		got = append(got, r.URL.Path+" "+scheme) // the scheme only: never print a secret
		mu.Unlock()
		w.Write([]byte("[]"))
	})}
	go rogue.Serve(ln)
	defer rogue.Close()
	rogueHTTP := net.JoinHostPort(nonLoopbackIP(), strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	if r := join(t, c, 0, testcluster.Elastic, "rogue", freeLoopbackAddr(t), rogueHTTP); r.Status != http.StatusOK {
		t.Fatalf("join of a member beyond loopback: %d %s", r.Status, r.Body)
	}
	c.Eventually(10*time.Second, "every node knows the rogue's address", func() bool {
		for i := 0; i < 3; i++ {
			if n, ok := c.Node(i).Cluster().State().Node("rogue"); !ok || n.HTTPAddr != rogueHTTP {
				return false
			}
		}
		return true
	})
	for i := 0; i < 3; i++ {
		r := c.Do(i, http.MethodGet, "/_security/service/elastic/fleet-server/credential", testcluster.Elastic, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("credentials on node %d: %d %s", i, r.Status, r.Body)
		}
	}
	time.Sleep(2 * time.Second) // a few rounds of health probes
	mu.Lock()
	defer mu.Unlock()
	for _, g := range got {
		if strings.Contains(g, "Basic") {
			t.Fatalf("the rogue member received a credential: %s", g)
		}
	}
}

// nonLoopbackIP is an address of this machine beyond loopback, or 0.0.0.0,
// which is not loopback either and reaches the local listener on Linux.
func nonLoopbackIP() string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() {
			return n.IP.String()
		}
	}
	return "0.0.0.0"
}
