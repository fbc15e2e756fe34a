package node

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// certFiles is one ssl group's files, as resolved paths.
type certFiles struct {
	cert, key string
	cas       []string
}

// certBundle is what one reading of a group's files gave.
type certBundle struct {
	cert *tls.Certificate
	pool *x509.CertPool // nil: the group names no CA
	cas  []*x509.Certificate
	// digest is of the files' contents: a reload parses only when it moved.
	digest [sha256.Size]byte
}

// certSource is one ssl group (http or transport): its files and the bundle
// in force, swapped whole when the files change, so that a handshake sees
// either the old certificate, key and CAs or the new ones, never a mix.
// It is cluster.CertSource.
type certSource struct {
	name, prefix string
	files        certFiles
	current      atomic.Pointer[certBundle]
	// lastBad is the version of the files last logged as failing to load,
	// so each is logged once; only the watcher's goroutine touches it.
	lastBad string
	// expiry is what was last logged of the bundle's ends; only Open, then
	// the watcher's goroutine, touch it.
	expiry expiryLog
}

func newCertSource(name, prefix string, files certFiles) (*certSource, error) {
	s := &certSource{name: name, prefix: prefix, files: files}
	b, err := s.read()
	if err != nil {
		return nil, err
	}
	s.current.Store(b)
	return s, nil
}

// Certificate is the certificate in force.
func (s *certSource) Certificate() *tls.Certificate { return s.current.Load().cert }

// CAs is the CA pool in force; nil when the group names no CA.
func (s *certSource) CAs() *x509.CertPool { return s.current.Load().pool }

// certContents is the raw contents of a group's files.
type certContents struct {
	cert, key []byte
	cas       [][]byte
	digest    [sha256.Size]byte
}

func (s *certSource) readFiles() (certContents, error) {
	var c certContents
	var err error
	if c.cert, err = os.ReadFile(s.files.cert); err != nil {
		return c, fmt.Errorf("%s.certificate: %w", s.prefix, err)
	}
	if c.key, err = os.ReadFile(s.files.key); err != nil {
		return c, fmt.Errorf("%s.key: %w", s.prefix, err)
	}
	h := sha256.New()
	h.Write(c.cert)
	h.Write(c.key)
	c.cas = make([][]byte, len(s.files.cas))
	for i, f := range s.files.cas {
		if c.cas[i], err = os.ReadFile(f); err != nil {
			return c, fmt.Errorf("%s.certificate_authorities: %w", s.prefix, err)
		}
		h.Write(c.cas[i])
	}
	h.Sum(c.digest[:0])
	return c, nil
}

// read loads the group's files: a key that does not match the certificate,
// or a CA file without a certificate, is an error.
func (s *certSource) read() (*certBundle, error) {
	c, err := s.readFiles()
	if err != nil {
		return nil, err
	}
	return s.parse(c)
}

func (s *certSource) parse(c certContents) (*certBundle, error) {
	cert, err := tls.X509KeyPair(c.cert, c.key)
	if err != nil {
		return nil, fmt.Errorf("%s: certificate and key: %w", s.prefix, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("%s.certificate: %w", s.prefix, err)
		}
	}
	b := &certBundle{cert: &cert, digest: c.digest}
	for i, data := range c.cas {
		certs, err := parseCerts(data)
		if err != nil || len(certs) == 0 {
			return nil, fmt.Errorf("%s.certificate_authorities: %s holds no PEM certificate", s.prefix, s.files.cas[i])
		}
		if b.pool == nil {
			b.pool = x509.NewCertPool()
		}
		for _, c := range certs {
			b.pool.AddCert(c)
			b.cas = append(b.cas, c)
		}
	}
	return b, nil
}

func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
}

// reload reads the files again and, if they changed and load, puts them in
// force for new connections (checkExpiry then warns of their ends). Files that changed but do not load (a
// certificate whose new key is not written yet, a truncated file) leave the
// old bundle in force, with an error in the log (once per bad version of the files);
// the next poll tries again.
func (s *certSource) reload(log hclog.Logger) {
	c, err := s.readFiles()
	var b *certBundle
	// A bad version is known by its contents, or, unreadable, by the error.
	version := string(c.digest[:])
	if err == nil {
		if c.digest == s.current.Load().digest {
			s.lastBad = ""
			return
		}
		b, err = s.parse(c)
	} else {
		version = err.Error()
	}
	if err != nil {
		if version != s.lastBad {
			s.lastBad = version
			log.Error("certificate files changed but cannot be loaded; the previous certificates stay in force", "ssl", s.prefix, "error", err)
		}
		return
	}
	s.lastBad = ""
	s.current.Store(b)
	log.Info("reloaded certificates; new connections use them", "ssl", s.prefix,
		"subject", b.leaf().Subject.String(), "not_after", b.leaf().NotAfter.UTC())
}

func (b *certBundle) leaf() *x509.Certificate { return b.cert.Leaf }

// expiryWarning is how close to its end a certificate is logged as
// expiring (Elasticsearch warns from 30 days too).
const expiryWarning = 30 * 24 * time.Hour

// expiryCheckEvery is how often the ends are checked when the files are
// not polled (resource.reload.enabled: false): a certificate crosses the
// 30 days while the node runs, not only when it starts.
const expiryCheckEvery = time.Hour

// expiryLog remembers, for the bundle in force, the day mark last logged
// of each certificate, so a check every poll logs each at most once a day.
type expiryLog struct {
	bundle *certBundle
	logged map[*x509.Certificate]int
}

// expiryDay is the mark of a certificate with left to run: the whole days
// left, and below zero (-1 on its last day and after) once it has ended.
func expiryDay(left time.Duration) int {
	day := int(left / (24 * time.Hour))
	if left <= 0 {
		day--
	}
	return day
}

// checkExpiry logs the certificate and CAs in force that end within
// expiryWarning (an error once ended), each once per day mark: at start,
// after a reload (a new bundle), and on the first check of each new day.
func (s *certSource) checkExpiry(log hclog.Logger, now time.Time) {
	b := s.current.Load()
	if s.expiry.bundle != b {
		s.expiry = expiryLog{bundle: b, logged: map[*x509.Certificate]int{}}
	}
	check := func(what string, c *x509.Certificate) {
		left := c.NotAfter.Sub(now)
		day, logged := s.expiry.logged[c]
		if left >= expiryWarning || (logged && day == expiryDay(left)) {
			return
		}
		s.expiry.logged[c] = expiryDay(left)
		if left <= 0 {
			log.Error("certificate has expired", "ssl", s.prefix, "which", what, "subject", c.Subject.String(), "not_after", c.NotAfter.UTC())
			return
		}
		log.Warn("certificate expires soon", "ssl", s.prefix, "which", what, "subject", c.Subject.String(),
			"not_after", c.NotAfter.UTC(), "days_left", expiryDay(left))
	}
	check("certificate", b.leaf())
	for _, c := range b.cas {
		check("certificate_authorities", c)
	}
}

// watchCertificates polls the certificate files every interval until ctx
// ends (Elasticsearch's resource.reload.interval.high, 5s by default), or,
// when reload is off, only checks their ends every expiryCheckEvery. Ends
// are read by now, the node's clock.
func (t nodeTLS) watchCertificates(ctx context.Context, reload bool, interval time.Duration, now func() time.Time, log hclog.Logger) {
	if !reload {
		interval = expiryCheckEvery
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, s := range t.sources {
			if reload {
				s.reload(log)
			}
			s.checkExpiry(log, now())
		}
	}
}

// CertificateExpiries is when the certificates in force end: "http" and
// "transport" for the node's own, "ca:" and the subject's common name for
// each CA (the earliest, if several share a name). Empty without TLS.
func (n *Node) CertificateExpiries() map[string]time.Time {
	out := map[string]time.Time{}
	for _, s := range n.tls.sources {
		b := s.current.Load()
		out[s.name] = b.leaf().NotAfter
		for _, c := range b.cas {
			key := "ca:" + c.Subject.CommonName
			if t, ok := out[key]; !ok || c.NotAfter.Before(t) {
				out[key] = c.NotAfter
			}
		}
	}
	return out
}
