package httpapi_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// With TLS on, forwarding, joining and Raft all run over mutual TLS: a key
// created through a follower works on every node at once.
func TestTLSClusterForwardsAndAuthenticates(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true})
	for i := 0; i < 3; i++ {
		if !strings.HasPrefix(c.URL(i), "https://") {
			t.Fatalf("node %d URL %s is not https", i, c.URL(i))
		}
	}
	k := createKey(t, c, c.Followers()[0], testcluster.Elastic, map[string]any{"name": "over-tls"})
	for i := 0; i < 3; i++ {
		if status, body := keyWorks(c, i, k); status != http.StatusOK {
			t.Fatalf("node %d: %d %s", i, status, body)
		}
	}
	c.Eventually(10*time.Second, "health probes see all three nodes over TLS", func() bool {
		r := c.Do(c.Followers()[1], http.MethodGet, "/_cluster/health", testcluster.Elastic, nil)
		return r.Status == http.StatusOK && r.JSON()["number_of_nodes"] == float64(3)
	})
	// File tokens are gathered from every node over the peers' TLS.
	r := c.Do(0, http.MethodGet, "/_security/service/elastic/fleet-server/credential", testcluster.Elastic, nil)
	nodes, _ := r.JSON()["nodes_credentials"].(map[string]any)["_nodes"].(map[string]any)
	if r.Status != http.StatusOK || nodes["successful"] != float64(3) || nodes["failed"] != float64(0) {
		t.Fatalf("credentials over TLS: %d %s", r.Status, r.Body)
	}
}

// Plain HTTP to a TLS port is refused before any handler runs.
func TestTLSRefusesPlainHTTP(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{TLS: true})
	plain := "http://" + strings.TrimPrefix(c.URL(0), "https://")
	r, err := testcluster.Do(plain, http.MethodGet, "/_security/_authenticate", testcluster.Elastic, nil)
	if err == nil && (r.Status != http.StatusBadRequest || bytes.Contains(r.Body, []byte("elastic"))) {
		t.Fatalf("plain HTTP answered %d %s", r.Status, r.Body)
	}
}

// A client without a node certificate, or with one from another CA, cannot
// reach the internal endpoints, even with the elastic user's credentials.
func TestTLSInternalEndpointsNeedANodeCertificate(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true})
	foreign, err := cluster.NewCA("another CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	crt, key, err := foreign.Issue("rogue", []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rogueCert, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*http.Client{
		"no client certificate": {Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testcluster.TestCAPool()}}},
		"certificate from another CA": {Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: testcluster.TestCAPool(), Certificates: []tls.Certificate{rogueCert}}}},
	}
	event := fsm.MustEncode(fsm.UserPutV1{User: fsm.User{Username: "intruder", Roles: []string{"superuser"}}})
	for name, client := range clients {
		t.Run(name, func(t *testing.T) {
			for _, path := range []string{"/_tokenstore/internal/propose", "/_tokenstore/internal/join"} {
				for i := 0; i < 3; i++ {
					req, _ := http.NewRequest(http.MethodPost, c.URL(i)+path, bytes.NewReader(event))
					req.Header.Set("Authorization", testcluster.Elastic)
					resp, err := client.Do(req)
					if err != nil {
						continue // refused during the handshake: as good
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusForbidden {
						t.Fatalf("node %d %s: %d, want 403", i, path, resp.StatusCode)
					}
				}
			}
			req, _ := http.NewRequest(http.MethodGet, c.URL(0)+"/_tokenstore/internal/file_tokens?principal=elastic/fleet-server", nil)
			req.Header.Set("Authorization", testcluster.Elastic)
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("file_tokens: %d, want 403", resp.StatusCode)
				}
			}
		})
	}
	for i := 0; i < 3; i++ {
		if _, ok := c.Node(i).Cluster().State().User("intruder"); ok {
			t.Fatalf("node %d has the intruder", i)
		}
	}
}

// A node whose certificate is from another CA cannot join.
func TestTLSNodeFromAnotherCACannotJoin(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true})
	foreign, err := cluster.NewCA("another CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	settings, err := testcluster.WriteNodeTLS(foreign, filepath.Join(dir, "tls"), "rogue")
	if err != nil {
		t.Fatal(err)
	}
	// The rogue trusts the cluster's CA for HTTP, so only its own
	// certificate stands between it and membership.
	settings["xpack.security.http.ssl.certificate_authorities"] = writeTestCA(t, dir)
	settings["xpack.security.authc.password_hashing.algorithm"] = "bcrypt4"
	srv, err := node.Open(node.Config{NodeID: "rogue", HTTPAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		DataDir: dir, Join: []string{strings.TrimPrefix(c.URL(0), "https://")}, JoinTimeout: 3 * time.Second,
		Settings: settings, JoinCredential: testcluster.Elastic})
	if err == nil {
		srv.Kill()
		t.Fatal("a node with a certificate from another CA joined")
	}
	r := c.Do(0, http.MethodGet, "/_cat/nodes?format=json", testcluster.Elastic, nil)
	if r.Status != http.StatusOK || bytes.Contains(r.Body, []byte("rogue")) {
		t.Fatalf("_cat/nodes: %d %s", r.Status, r.Body)
	}
}

func writeTestCA(t *testing.T, dir string) string {
	t.Helper()
	crt, _, err := testcluster.TestCA().PEM()
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "cluster-ca.crt")
	if err := os.WriteFile(f, crt, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// A client speaking Raft without a node certificate changes nothing: its
// AppendEntries with a higher term and an event never reaches Raft.
func TestTLSRaftPortRefusesRawRaftClients(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true})
	leader := c.Leader()
	target := c.Followers()[0]
	before := c.Node(target).Cluster().State().AppliedIndex()
	intruder, err := raft.NewTCPTransport("127.0.0.1:0", nil, 1, 2*time.Second, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer intruder.Close()
	event := fsm.MustEncode(fsm.UserPutV1{User: fsm.User{Username: "intruder", Roles: []string{"superuser"}}})
	req := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte(intruder.LocalAddr())},
		Term:      1 << 20, LeaderCommitIndex: before + 1,
		Entries: []*raft.Log{{Index: before + 1, Term: 1 << 20, Type: raft.LogCommand, Data: event}},
	}
	var resp raft.AppendEntriesResponse
	addr := raft.ServerAddress(c.Node(target).Cluster().RaftAddr())
	if err := intruder.AppendEntries(raft.ServerID(c.ID(target)), addr, req, &resp); err == nil {
		t.Fatalf("the Raft port answered a client without a certificate: %+v", resp)
	}
	// Garbage bytes, too.
	if conn, err := net.Dial("tcp", string(addr)); err == nil {
		conn.Write(bytes.Repeat([]byte{0, 1, 2, 0xff}, 1024))
		conn.Close()
	}
	// The cluster still works, with the same leader, and nobody has the event.
	createKey(t, c, target, testcluster.Elastic, map[string]any{"name": "after-intrusion"})
	if now := c.Leader(); now != leader {
		t.Fatalf("leader changed from %d to %d", leader, now)
	}
	for i := 0; i < 3; i++ {
		if _, ok := c.Node(i).Cluster().State().User("intruder"); ok {
			t.Fatalf("node %d applied the intruder's event", i)
		}
	}
}
