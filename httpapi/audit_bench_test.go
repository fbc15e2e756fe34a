package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/tokenstore/tokenstore/node"
	"github.com/tokenstore/tokenstore/testcluster"
)

// BenchmarkHTTPAPIKeyAuthAuditVsBareHandler is the API key benchmark with
// the audit log on: with Elasticsearch's default events (nothing to write
// for _authenticate; the request-id middleware runs), and with
// authentication_success included (one record a request, the worst case).
func BenchmarkHTTPAPIKeyAuthAuditVsBareHandler(b *testing.B) {
	for name, include := range map[string]string{"default": "", "success": "authentication_success"} {
		b.Run(name, func(b *testing.B) {
			settings := node.Settings{"xpack.security.audit.enabled": "true"}
			if include != "" {
				settings["xpack.security.audit.logfile.events.include"] = include
			}
			c := testcluster.New(b, 1, testcluster.Options{Settings: settings})
			r := c.Do(0, http.MethodPost, "/_security/api_key", testcluster.Elastic, map[string]any{"name": "bench"})
			if r.Status != http.StatusOK {
				b.Fatalf("create key: %d %s", r.Status, r.Body)
			}
			compareWithBare(b, c, "ApiKey "+r.JSON()["encoded"].(string))
			b.ReportMetric(float64(c.Node(0).Audit().Dropped()), "dropped")
		})
	}
}
