package httpapi_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// ?human adds Elasticsearch's readable twins before the raw durations and
// percentages, on every node; without it (or with human=false) they are
// absent.
func TestHumanReadableDuplicates(t *testing.T) {
	c := testcluster.New(t, 3)
	twins := `"task_max_waiting_in_queue":"0s","task_max_waiting_in_queue_millis":0,"active_shards_percent":"100.0%","active_shards_percent_as_number":100`
	for i := range 3 {
		r := c.Do(i, http.MethodGet, "/_cluster/health?human", testcluster.Elastic, nil)
		if r.Status != 200 || !strings.Contains(string(r.Body), twins) {
			t.Errorf("node %d: health?human: %d %s", i, r.Status, r.Body)
		}
		for _, q := range []string{"", "?human=false"} {
			r := c.Do(i, http.MethodGet, "/_cluster/health"+q, testcluster.Elastic, nil)
			if r.Status != 200 || strings.Contains(string(r.Body), `"task_max_waiting_in_queue"`) || strings.Contains(string(r.Body), `"active_shards_percent"`) {
				t.Errorf("node %d: health%s: %d %s", i, q, r.Status, r.Body)
			}
		}
	}
	readable := regexp.MustCompile(`^[0-9]+(\.[1-9])?(nanos|micros|ms|s|m|h|d)$`)
	for _, q := range []string{"?human", ""} {
		r := c.Do(1, http.MethodGet, "/_tokenstore/cluster"+q, testcluster.Elastic, nil)
		members, _ := r.JSON()["members"].([]any)
		contacts := 0
		for _, x := range members {
			m := x.(map[string]any)
			text, has := m["last_contact"].(string)
			if m["last_contact_ms"] == nil || q == "" {
				if has {
					t.Errorf("membership%s: last_contact without a contact or ?human: %s", q, r.Body)
				}
				continue
			}
			contacts++
			if !readable.MatchString(text) {
				t.Errorf("membership?human: last_contact %q: %s", text, r.Body)
			}
		}
		if r.Status != 200 || len(members) != 3 || (q != "" && contacts == 0) {
			t.Errorf("membership%s: %d %s", q, r.Status, r.Body)
		}
	}
}
