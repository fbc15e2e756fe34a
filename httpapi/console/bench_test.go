package console_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tokenstore/tokenstore/httpapi/console"
)

// BenchmarkMount is what the console costs an API request: the one path
// check in front of the API handler (authentication itself is untouched).
// Compare mounted with bare in the same run.
func BenchmarkMount(b *testing.B) {
	api := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	req := httptest.NewRequest(http.MethodGet, "/_security/_authenticate", nil)
	w := httptest.NewRecorder()
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", api}, {"mounted", console.New(console.Config{API: api}).Mount(api)}} {
		h := c.h
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, req)
			}
		})
	}
}
