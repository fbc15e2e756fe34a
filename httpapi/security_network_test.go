package httpapi_test

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// closedBy reports whether the server closes conn within wait: a read ends
// with EOF or a reset, not with our own deadline. Bytes the server sends
// first (an error answer) are read and skipped.
func closedBy(conn net.Conn, wait time.Duration) bool {
	return countClosed([]net.Conn{conn}, wait) == 1
}

// countClosed waits on every connection at once and counts those the
// server closed within wait.
func countClosed(conns []net.Conn, wait time.Duration) int {
	deadline := time.Now().Add(wait)
	results := make(chan bool, len(conns))
	for _, conn := range conns {
		go func() {
			conn.SetReadDeadline(deadline)
			_, err := io.Copy(io.Discard, conn)
			results <- !errors.Is(err, os.ErrDeadlineExceeded)
		}()
	}
	closed := 0
	for range conns {
		if <-results {
			closed++
		}
	}
	return closed
}

// dialIdle opens n TCP connections to addr that send nothing.
func dialIdle(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	var conns []net.Conn
	for i := 0; i < n; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %s (%d): %v", addr, i, err)
		}
		conns = append(conns, c)
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	return conns
}

func hostPort(url string) string { return url[strings.Index(url, "://")+3:] }

// Finding 8: idle connections to the Raft port (no TLS handshake), to the
// HTTP port (no handshake, or idle after a request, or a body that never
// comes) are closed by the node after their deadline, and the node keeps
// serving. Before the fix the Raft port and the HTTP port after a request
// held such connections forever, until descriptors ran out.
func TestIdleConnectionsAreClosedAfterTheirDeadline(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true, Settings: node.Settings{
		"tokenstore.transport.handshake_timeout": "1s",
		"tokenstore.http.handshake_timeout":      "1s",
		"tokenstore.http.request_timeout":        "3s",
		"http.read_timeout":                      "2s",
	}})
	f := c.Followers()[0]
	raftConns := dialIdle(t, c.Node(f).Cluster().RaftAddr(), 100)
	httpConns := dialIdle(t, hostPort(c.URL(f)), 100)

	tlsConf := &tls.Config{RootCAs: testcluster.TestCAPool()}
	keepAlive, err := tls.Dial("tcp", hostPort(c.URL(f)), tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	defer keepAlive.Close()
	fmt.Fprintf(keepAlive, "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n\r\n", testcluster.Elastic)
	resp, err := http.ReadResponse(bufio.NewReader(keepAlive), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("request on a kept-alive connection: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	slowBody, err := tls.Dial("tcp", hostPort(c.URL(f)), tlsConf)
	if err != nil {
		t.Fatal(err)
	}
	defer slowBody.Close()
	fmt.Fprintf(slowBody, "PUT /_security/role/slow HTTP/1.1\r\nHost: x\r\nAuthorization: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", testcluster.Elastic)

	// Generous: the deadlines are 1-3 s; a node that never closes fails.
	const wait = 20 * time.Second
	for name, conns := range map[string][]net.Conn{"raft": raftConns, "http": httpConns} {
		if closed := countClosed(conns, wait); closed != len(conns) {
			t.Fatalf("%d of %d %s connections with no handshake still open after %v", len(conns)-closed, len(conns), name, wait)
		}
	}
	if !closedBy(keepAlive, wait) {
		t.Fatalf("idle kept-alive HTTPS connection still open after %v", wait)
	}
	if !closedBy(slowBody, wait) {
		t.Fatalf("HTTPS connection whose body never came still open after %v", wait)
	}
	// The node still serves clients and its peers.
	k := createKey(t, c, f, testcluster.Elastic, map[string]any{"name": "after-idle-flood"})
	for i := 0; i < 3; i++ {
		if status, body := keyWorks(c, i, k); status != http.StatusOK {
			t.Fatalf("node %d after the flood: %d %s", i, status, body)
		}
	}
}

// Finding 8: each port has a cap on open connections; connections over it
// are closed at once, and the node answers again once the flood ends.
// Before the fix every connection was kept.
func TestOpenConnectionsAreCappedPerPort(t *testing.T) {
	const httpCap, raftCap = 16, 8
	c := testcluster.New(t, 1, testcluster.Options{TLS: true, Settings: node.Settings{
		"tokenstore.http.max_open_connections":      fmt.Sprint(httpCap),
		"tokenstore.transport.max_open_connections": fmt.Sprint(raftCap),
		// Long enough that only the cap can close a connection here.
		"tokenstore.http.handshake_timeout":      "1m",
		"tokenstore.transport.handshake_timeout": "1m",
	}})
	for name, port := range map[string]struct {
		addr string
		cap  int
	}{"http": {hostPort(c.URL(0)), httpCap}, "raft": {c.Node(0).Cluster().RaftAddr(), raftCap}} {
		conns := dialIdle(t, port.addr, port.cap+8)
		closed := countClosed(conns, 3*time.Second)
		if open := len(conns) - closed; open > port.cap || closed < 8 {
			t.Fatalf("%s port with a cap of %d: %d connections open, %d closed", name, port.cap, open, closed)
		}
		for _, conn := range conns {
			conn.Close()
		}
	}
	c.Eventually(10*time.Second, "the node answers after the flood", func() bool {
		r, err := testcluster.Do(c.URL(0), http.MethodGet, "/_security/_authenticate", testcluster.Elastic, nil)
		return err == nil && r.Status == http.StatusOK
	})
}

// join posts a join request for a member with these addresses.
func join(t *testing.T, c *testcluster.Cluster, node int, auth, id, raftAddr, httpAddr string) testcluster.Response {
	t.Helper()
	body := fmt.Sprintf(`{"id":%q,"raft_addr":%q,"http_addr":%q}`, id, raftAddr, httpAddr)
	r, err := testcluster.Do(c.URL(node), http.MethodPost, "/_tokenstore/internal/join", auth, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func memberList(t *testing.T, c *testcluster.Cluster) string {
	t.Helper()
	ms, err := c.Node(c.WaitForLeader(10 * time.Second)).Cluster().Members()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s %s %s %v; ", m.ID, m.RaftAddr, m.HTTPAddr, m.Voter)
	}
	return b.String()
}

// Finding 9a: a join naming an id or an address another member holds is
// refused with an Elasticsearch error and removes nobody; manage is not
// enough to join. Before the fix such a join removed the member holding
// the id or address.
func TestJoinNeverReplacesAMember(t *testing.T) {
	c := testcluster.New(t, 3)
	putRole(t, c, "manager", map[string]any{"cluster": []string{"manage"}})
	manager := putUser(t, c, "mgr", "mgr-password", "manager")
	ms, _ := c.Node(0).Cluster().Members()
	before := memberList(t, c)
	free := freeLoopbackAddr(t)
	if r := join(t, c, 0, manager, "rogue", free, free); r.Status != http.StatusForbidden {
		t.Fatalf("join with manage: %d %s", r.Status, r.Body)
	}
	cases := map[string][3]string{
		"existing id":           {ms[1].ID, free, freeLoopbackAddr(t)},
		"existing raft address": {"rogue", ms[2].RaftAddr, freeLoopbackAddr(t)},
		"existing http address": {"rogue", free, ms[2].HTTPAddr},
	}
	for name, req := range cases {
		for _, node := range []int{c.Leader(), c.Followers()[0]} {
			r := join(t, c, node, testcluster.Elastic, req[0], req[1], req[2])
			if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"illegal_argument_exception"`) {
				t.Fatalf("%s via node %d: %d %s", name, node, r.Status, r.Body)
			}
		}
	}
	if after := memberList(t, c); after != before {
		t.Fatalf("members changed:\nbefore %s\nafter  %s", before, after)
	}
	// A member joining again as itself is no change, and the cluster works.
	if r := join(t, c, 0, testcluster.Elastic, ms[1].ID, ms[1].RaftAddr, ms[1].HTTPAddr); r.Status != http.StatusOK {
		t.Fatalf("member joining as itself: %d %s", r.Status, r.Body)
	}
	k := createKey(t, c, c.Followers()[0], testcluster.Elastic, map[string]any{"name": "after-joins"})
	for i := 0; i < 3; i++ {
		if status, body := keyWorks(c, i, k); status != http.StatusOK {
			t.Fatalf("node %d: %d %s", i, status, body)
		}
	}
}

func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
