package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxAnswer bounds what the console reads of one API answer; the API's own
// limits (page sizes, ids per request) keep real answers far below it.
const maxAnswer = 8 << 20

// answer is an API response as the console reads it.
type answer struct {
	Status int
	Body   []byte
}

// OK reports a 2xx answer.
func (a answer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// decode reads the answer's JSON into v.
func (a answer) decode(v any) error {
	if err := json.Unmarshal(a.Body, v); err != nil {
		return fmt.Errorf("decode API answer (%d): %w", a.Status, err)
	}
	return nil
}

// Reason is the Elasticsearch error's reason (or OAuth2's description), as
// the API wrote it.
func (a answer) Reason() string {
	var e struct {
		Error any    `json:"error"`
		Desc  string `json:"error_description"`
	}
	json.Unmarshal(a.Body, &e)
	switch v := e.Error.(type) {
	case map[string]any:
		if r, ok := v["reason"].(string); ok {
			return r
		}
	case string:
		if e.Desc != "" {
			return v + ": " + e.Desc
		}
		return v
	}
	return http.StatusText(a.Status)
}

// recorder is an in-memory ResponseWriter for one in-process API call.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.body.Len()+len(p) > maxAnswer {
		return 0, fmt.Errorf("API answer over %d bytes", maxAnswer)
	}
	return w.body.Write(p)
}

// call sends one request to the API in process, with credential as its
// Authorization header. The browser's address goes with it, so the
// API's throttle counts the console's users as it counts any client.
func (c *Console) call(r *http.Request, credential, method, path string, body any) answer {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "cannot encode request: "+err.Error())}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, path, rd)
	if err != nil {
		return answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "bad request path")}
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	req.TLS = r.TLS
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if credential != "" {
		req.Header.Set("Authorization", credential)
	}
	w := &recorder{header: http.Header{}}
	c.cfg.API.ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return answer{Status: w.status, Body: w.body.Bytes()}
}

// esError is an Elasticsearch-shaped error body the console makes itself.
func esError(status int, reason string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"type": "illegal_argument_exception", "reason": reason}, "status": status})
	return b
}
