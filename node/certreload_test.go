package node_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
	"github.com/tokenstore/tokenstore/testcluster"
)

// fastReload polls certificate files often, so tests wait little.
var fastReload = map[string]string{"resource.reload.interval.high": "100ms"}

// nodeCert is a certificate issued for a test node, with its parsed form.
type nodeCert struct {
	crt, key []byte
	leaf     *x509.Certificate
	pair     tls.Certificate
}

func issue(t *testing.T, ca *cluster.CA, name string, validity time.Duration) nodeCert {
	t.Helper()
	crt, key, err := ca.Issue(name, []string{name, "localhost"}, []net.IP{net.IPv4(127, 0, 0, 1)}, validity)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(crt, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(pair.Certificate[0])
	return nodeCert{crt: crt, key: key, leaf: leaf, pair: pair}
}

func caPEM(t *testing.T, cas ...*cluster.CA) []byte {
	t.Helper()
	var out []byte
	for _, ca := range cas {
		crt, _, err := ca.PEM()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, crt...)
	}
	return out
}

// replace writes a file the way an operator's tooling would: a new file
// renamed over the old one.
func replace(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// tlsFile is one of node i's certificate files (testcluster.WriteNodeTLS).
func tlsFile(c *testcluster.Cluster, i int, ext string) string {
	name := c.ID(i) + ext
	if ext == "ca" {
		name = "ca.crt"
	}
	return filepath.Join(c.DataDir(i), "tls", name)
}

// servedSerial is the serial of the certificate a TLS port shows now, to a
// client presenting client (the Raft port requires one).
func servedSerial(addr string, client *tls.Certificate) (*big.Int, error) {
	cfg := &tls.Config{InsecureSkipVerify: true} // only the certificate's serial is looked at
	if client != nil {
		cfg.Certificates = []tls.Certificate{*client}
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber, nil
}

func httpAddr(c *testcluster.Cluster, i int) string { return strings.TrimPrefix(c.URL(i), "https://") }

// waitServed waits until both of node i's ports show want.
func waitServed(c *testcluster.Cluster, i int, want *x509.Certificate, client *tls.Certificate) {
	c.Eventually(10*time.Second, fmt.Sprintf("node %d shows certificate %x", i, want.SerialNumber), func() bool {
		for _, addr := range []string{httpAddr(c, i), c.Node(i).Cluster().RaftAddr()} {
			if s, err := servedSerial(addr, client); err != nil || s.Cmp(want.SerialNumber) != 0 {
				return false
			}
		}
		return true
	})
}

// keyWriter creates API keys through the nodes in turn, with a client that
// trusts both CAs, and keeps every key it was given.
type keyWriter struct {
	c       *testcluster.Cluster
	client  *http.Client
	mu      sync.Mutex
	keys    []string
	failed  []string
	stop    chan struct{}
	done    chan struct{}
	halted  sync.Once
	created atomic.Int64
	// paused is held (write-locked) while the test cuts connections, which
	// fails writes in flight for reasons that are not the rotation's.
	paused sync.RWMutex
}

// halt stops the writer and waits for its last write.
func (w *keyWriter) halt() {
	w.halted.Do(func() { close(w.stop) })
	<-w.done
}

func newKeyWriter(c *testcluster.Cluster, roots *x509.CertPool) *keyWriter {
	return &keyWriter{c: c, stop: make(chan struct{}), done: make(chan struct{}),
		client: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
}

func (w *keyWriter) do(i int, method, path, auth string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, w.c.URL(i)+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes(), nil
}

func (w *keyWriter) run() {
	defer close(w.done)
	for n := 0; ; n++ {
		select {
		case <-w.stop:
			return
		default:
		}
		i := n % w.c.Len()
		w.paused.RLock()
		status, body, err := w.do(i, http.MethodPost, "/_security/api_key", testcluster.Elastic, []byte(fmt.Sprintf(`{"name":"rot-%d"}`, n)))
		var key struct{ Encoded string }
		if err == nil && status == http.StatusOK && json.Unmarshal(body, &key) == nil {
			w.mu.Lock()
			w.keys = append(w.keys, key.Encoded)
			w.mu.Unlock()
			w.created.Add(1)
		} else {
			w.mu.Lock()
			w.failed = append(w.failed, fmt.Sprintf("node %d: %d %s %v", i, status, body, err))
			w.mu.Unlock()
		}
		w.paused.RUnlock()
		time.Sleep(20 * time.Millisecond)
	}
}

// progress waits until n more keys were created.
func (w *keyWriter) progress(n int64) {
	target := w.created.Load() + n
	w.c.Eventually(15*time.Second, "writes go on", func() bool { return w.created.Load() >= target })
}

// reconnect drops node i's connections to and from its peers and lets it
// dial again at once, so the next Raft and internal connections are new
// handshakes with the certificates in force now. Writes pause meanwhile
// (a cut fails the writes in flight), and resume once the node has caught
// up over its new connections.
func (w *keyWriter) reconnect(i int) {
	w.paused.Lock()
	defer w.paused.Unlock()
	w.c.Partition(i)
	w.c.Heal(i)
	w.c.Eventually(10*time.Second, fmt.Sprintf("node %d is back in the cluster", i), func() bool {
		l := w.c.Leader()
		if l < 0 {
			return false
		}
		return w.c.Node(i).Cluster().State().AppliedIndex() == w.c.Node(l).Cluster().State().AppliedIndex()
	})
}

// A cluster moves to a new CA without a restart, node by node, the way
// Elasticsearch's documentation rotates one: trust the new CA next to the
// old, replace each node's certificate, then drop the old CA. Writes go on
// throughout and none fails (the cluster never loses its quorum); each step
// is seen on the wire (the certificate each port shows) and over new
// connections; at the end a certificate of the old CA is refused.
func TestCertificateRotationKeepsQuorum(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{TLS: true, Settings: fastReload})
	oldCA := testcluster.TestCA()
	newCA, err := cluster.NewCA("tokenstore rotated CA", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	roots := testcluster.TestCAPool()
	roots.AddCert(newCA.Cert)
	w := newKeyWriter(c, roots)
	go w.run()
	defer w.halt()
	w.progress(3)

	both := caPEM(t, oldCA, newCA)
	for i := 0; i < c.Len(); i++ {
		replace(t, tlsFile(c, i, "ca"), both)
		c.Eventually(5*time.Second, "the new CA is trusted", func() bool {
			_, ok := c.Node(i).CertificateExpiries()["ca:tokenstore rotated CA"]
			return ok
		})
	}
	w.progress(3)
	rotated := make([]nodeCert, c.Len())
	for i := 0; i < c.Len(); i++ {
		rotated[i] = issue(t, newCA, c.ID(i), 24*time.Hour)
		replace(t, tlsFile(c, i, ".key"), rotated[i].key)
		replace(t, tlsFile(c, i, ".crt"), rotated[i].crt)
		waitServed(c, i, rotated[i].leaf, &rotated[i].pair)
		if got := c.Node(i).CertificateExpiries()["transport"]; !got.Equal(rotated[i].leaf.NotAfter) {
			t.Fatalf("node %d: transport certificate ends %v, want %v", i, got, rotated[i].leaf.NotAfter)
		}
		w.reconnect(i)
		w.progress(3)
	}
	onlyNew := caPEM(t, newCA)
	for i := 0; i < c.Len(); i++ {
		replace(t, tlsFile(c, i, "ca"), onlyNew)
		c.Eventually(5*time.Second, "the old CA is dropped", func() bool {
			_, ok := c.Node(i).CertificateExpiries()["ca:tokenstore test CA"]
			return !ok
		})
		w.reconnect(i)
		w.progress(3)
	}

	stale := issue(t, oldCA, "intruder", time.Hour)
	for i := 0; i < c.Len(); i++ {
		if refusedOnRaft(c.Node(i).Cluster().RaftAddr(), &stale.pair) == nil {
			t.Fatalf("node %d: the Raft port still accepts a certificate of the dropped CA", i)
		}
	}
	w.halt()
	if len(w.failed) > 0 {
		t.Fatalf("%d of %d writes failed during the rotation, first: %s", len(w.failed), len(w.failed)+len(w.keys), w.failed[0])
	}
	for i := 0; i < c.Len(); i++ {
		for _, k := range w.keys {
			if status, body, err := w.do(i, http.MethodGet, "/_security/_authenticate", "ApiKey "+k, nil); err != nil || status != http.StatusOK {
				t.Fatalf("node %d: a key created during the rotation: %d %s %v", i, status, body, err)
			}
		}
	}
}

// refusedOnRaft returns the error the Raft port gives a client certificate
// it does not trust; nil when the connection stays usable. With TLS 1.3 the
// client learns of the refusal on its first read, not in the handshake.
func refusedOnRaft(addr string, client *tls.Certificate) error {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, Certificates: []tls.Certificate{*client}})
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return nil // still open: the server took the certificate
	}
	return err
}

// A certificate file that does not parse, or a key that does not match its
// certificate, is logged and the certificate in force stays; a good pair
// replaces it, and one that ends within 30 days is a warning in the log
// and shows in CertificateExpiries.
func TestCertificateReloadKeepsOldOnBadFiles(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{TLS: true, Settings: fastReload, LogLevel: "warn"})
	ca := testcluster.TestCA()
	first, err := servedSerial(httpAddr(c, 0), nil)
	if err != nil {
		t.Fatal(err)
	}
	crtFile, keyFile := tlsFile(c, 0, ".crt"), tlsFile(c, 0, ".key")
	other := issue(t, ca, c.ID(0), 24*time.Hour)
	bad := []struct {
		name, logged string
		crt, key     []byte
	}{
		{"certificate not PEM", "failed to find any PEM data in certificate input", []byte("not a certificate"), nil},
		{"key of another pair", "private key does not match public key", issue(t, ca, c.ID(0), time.Hour).crt, other.key},
		{"truncated certificate", "failed to find any PEM data in certificate input", other.crt[:len(other.crt)/2], other.key},
	}
	for _, b := range bad {
		if b.key != nil {
			replace(t, keyFile, b.key)
		}
		replace(t, crtFile, b.crt)
		c.Eventually(5*time.Second, b.name+" is logged", func() bool { return logHas(c, 0, b.logged) })
		if s, err := servedSerial(httpAddr(c, 0), nil); err != nil || s.Cmp(first) != 0 {
			t.Fatalf("%s: the node shows %v (%v), want the old certificate %v", b.name, s, err, first)
		}
		if r := c.Do(0, http.MethodGet, "/_security/_authenticate", testcluster.Elastic, nil); r.Status != http.StatusOK {
			t.Fatalf("%s: authenticate: %d %s", b.name, r.Status, r.Body)
		}
		truncateLog(t, c, 0)
	}

	soon := issue(t, ca, c.ID(0), 10*24*time.Hour)
	replace(t, keyFile, soon.key)
	replace(t, crtFile, soon.crt)
	waitServed(c, 0, soon.leaf, &soon.pair)
	for _, which := range []string{"http", "transport"} {
		if got := c.Node(0).CertificateExpiries()[which]; !got.Equal(soon.leaf.NotAfter) {
			t.Fatalf("%s certificate ends %v, want %v", which, got, soon.leaf.NotAfter)
		}
	}
	c.Eventually(5*time.Second, "the expiring certificate is a warning", func() bool {
		return logHas(c, 0, "certificate expires soon") && logHas(c, 0, "days_left=9")
	})
}

func logHas(c *testcluster.Cluster, i int, s string) bool {
	data, _ := os.ReadFile(filepath.Join(c.DataDir(i), "node.log"))
	return bytes.Contains(data, []byte(s))
}

// truncateLog empties node i's log, so the next case sees only its lines.
func truncateLog(t *testing.T, c *testcluster.Cluster, i int) {
	if err := os.Truncate(filepath.Join(c.DataDir(i), "node.log"), 0); err != nil {
		t.Fatal(err)
	}
}

// A certificate that ends a little more than 30 days ahead is no warning;
// once the node's clock passes into its last 30 days it is one, with no
// change to the files, and it is logged once a day for each ssl group that
// uses it, not at every poll.
func TestExpiryWarnedAsTheDaysPass(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{TLS: true, Settings: fastReload, LogLevel: "warn"})
	later := issue(t, testcluster.TestCA(), c.ID(0), 30*24*time.Hour+12*time.Hour)
	replace(t, tlsFile(c, 0, ".key"), later.key)
	replace(t, tlsFile(c, 0, ".crt"), later.crt)
	waitServed(c, 0, later.leaf, &later.pair)
	truncateLog(t, c, 0)
	polls := 10 * 100 * time.Millisecond // fastReload's interval
	time.Sleep(polls)
	if n := expiryWarnings(c, 0, ""); n != 0 {
		t.Fatalf("%d expiry warnings with 30.5 days left, want none", n)
	}
	for day, left := range []string{"days_left=29", "days_left=28"} {
		c.SkewClock(0, time.Duration(day+1)*24*time.Hour)
		c.Eventually(5*time.Second, "the expiring certificate is a warning ("+left+")", func() bool {
			return expiryWarnings(c, 0, left) == 2
		})
		time.Sleep(polls)
		if n := expiryWarnings(c, 0, ""); n != 2*(day+1) {
			t.Fatalf("after %d days: %d expiry warnings, want one per ssl group (http, transport) and day: %d", day+1, n, 2*(day+1))
		}
	}
}

// expiryWarnings counts node i's log lines warning that its own certificate
// (not a CA) expires soon, and that contain also.
func expiryWarnings(c *testcluster.Cluster, i int, also string) int {
	data, _ := os.ReadFile(filepath.Join(c.DataDir(i), "node.log"))
	n := 0
	for line := range strings.Lines(string(data)) {
		if strings.Contains(line, "certificate expires soon") && strings.Contains(line, "which=certificate ") && strings.Contains(line, also) {
			n++
		}
	}
	return n
}
