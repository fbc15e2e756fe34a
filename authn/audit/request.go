package audit

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
)

// maxCaptured bounds the part of a security write's body kept for its
// security_config_change record; a longer body's record leaves out the
// fields only the body has.
const maxCaptured = 64 << 10

// requestInfo is what the audit log keeps about one API request: its id,
// made when the first event needs it, and the body of a security write as
// the handler read it.
type requestInfo struct {
	once sync.Once
	id   string
	body *capture
}

type infoKey struct{}

// Requests gives every API request the audit log's request.id and keeps
// the body of security writes as their handler reads it; it is installed
// only when the audit log is on, so that an off log costs nothing.
func (l *Log) Requests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		if capturesBody(r) {
			info.body = &capture{rc: r.Body}
			r.Body = info.body
		}
		next.ServeHTTP(w, r)
		if info.body != nil {
			// It may hold a password: nothing needs it once the request is answered.
			clear(info.body.buf)
		}
	})
}

// capturesBody selects the security API's writes: their bodies name what a
// security_config_change record shows (an expiration, the keys to
// invalidate, a grant's type).
func capturesBody(r *http.Request) bool {
	return r.Body != nil && r.Body != http.NoBody && r.Method != http.MethodGet && r.Method != http.MethodHead &&
		strings.HasPrefix(r.URL.Path, "/_security/")
}

func infoOf(r *http.Request) *requestInfo {
	if r == nil {
		return nil
	}
	info, _ := r.Context().Value(infoKey{}).(*requestInfo)
	return info
}

// requestID is the request's audit id, "" for a request the middleware
// did not see.
func requestID(r *http.Request) string {
	info := infoOf(r)
	if info == nil {
		return ""
	}
	info.once.Do(func() { info.id = newRequestID() })
	return info.id
}

// newRequestID is 22 characters of URL-safe base64 over 16 random bytes,
// like Elasticsearch's request ids. They identify, they protect nothing.
func newRequestID() string {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
	binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// bodyOf is the captured body of a request, nil when there is none or it
// was longer than maxCaptured.
func bodyOf(r *http.Request) []byte {
	info := infoOf(r)
	if info == nil || info.body == nil || info.body.over {
		return nil
	}
	return info.body.buf
}

// capture copies what the handler reads of a body, up to maxCaptured.
type capture struct {
	rc   io.ReadCloser
	buf  []byte
	over bool
}

func (c *capture) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	switch {
	case c.over:
	case len(c.buf)+n > maxCaptured:
		c.over, c.buf = true, nil
	default:
		c.buf = append(c.buf, p[:n]...)
	}
	return n, err
}

func (c *capture) Close() error { return c.rc.Close() }
