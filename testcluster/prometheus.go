package testcluster

import (
	"fmt"
	"strings"
)

// PrometheusScrapeConfig is the scrape_configs entry of a prometheus.yml
// that scrapes nodes (host:port) with an API key that has the monitor
// privilege (its "encoded" value). A CA file means HTTPS, verified with it.
// `make cluster` prints it for its nodes, and the README shows it.
func PrometheusScrapeConfig(targets []string, encodedKey, caFile string) string {
	tls := ""
	if caFile != "" {
		tls = fmt.Sprintf("    scheme: https\n    tls_config:\n      ca_file: %s\n", caFile)
	}
	return fmt.Sprintf(`scrape_configs:
  - job_name: tokenstore
    metrics_path: /_prometheus/metrics
%s    authorization:
      type: ApiKey
      credentials: %s
    static_configs:
      - targets: ['%s']
`, tls, encodedKey, strings.Join(targets, "', '"))
}
