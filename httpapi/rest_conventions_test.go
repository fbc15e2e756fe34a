package httpapi_test

import (
	"bytes"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Acceptance 5 of issue 14: every route of the router, walked rather than
// listed, honours ?pretty and ?filter_path (inclusion and exclusion),
// whether it answers with a result or with an error, round-robin over a
// three-node cluster. The routes that answer with no JSON at all are
// named below with why; a new route is in the test the moment it is in
// the router.

// notJSON are the routes whose answers are not JSON documents.
var notJSON = map[string]string{
	"GET /_prometheus/metrics":                  "Prometheus text exposition",
	"GET /_tokenstore/backup":                   "a binary backup stream",
	"POST /_cluster/voting_config_exclusions":   "Elasticsearch answers it with an empty body",
	"DELETE /_cluster/voting_config_exclusions": "Elasticsearch answers it with an empty body",
	"HEAD /": "HEAD has no body",
}

// pathValues fills a route's path variables with values that exist or
// are harmless when they do not.
var pathValues = map[string]string{
	"username": "rt_user", "name": "rt_role", "realms": "default_native", "application": "rtapp",
	"ids": "rtNoSuchKey000000000", "id": "rtNoSuchKey000000000", "namespace": "elastic", "service": "fleet-server",
	"names": "rt_token", "uid": "u_rtNoSuchProfile_0", "uids": "u_rtNoSuchProfile_0",
}

var pathVar = regexp.MustCompile(`\{([a-z]+)\}`)

func TestEveryRouteHonoursFilterPathAndPretty(t *testing.T) {
	c := testcluster.New(t, 3, testcluster.Options{})
	// What the routes read exists, so that their answers have fields.
	for _, w := range []struct{ method, path, body string }{
		{"PUT", "/_security/user/rt_user", `{"password":"rt-passw0rd","roles":["rt_role"]}`},
		{"PUT", "/_security/role/rt_role", `{"cluster":["monitor"]}`},
		{"PUT", "/_security/privilege", `{"rtapp":{"rt_role":{"actions":["data:read/*"]}}}`},
	} {
		if r := c.Do(0, w.method, w.path, testcluster.Elastic, w.body); r.Status != 200 {
			t.Fatalf("%s %s: %d %s", w.method, w.path, r.Status, r.Body)
		}
	}
	routes := c.Node(0).Routes()
	if len(routes) < 50 {
		t.Fatalf("the router lists %d routes", len(routes))
	}
	n := 0
	for _, rt := range routes {
		// Node-to-node endpoints are not the REST API: peers read them.
		if strings.HasPrefix(rt.Path, "/_tokenstore/internal") || rt.Path == "forward_auth" {
			continue
		}
		path := pathVar.ReplaceAllStringFunc(rt.Path, func(v string) string { return pathValues[v[1:len(v)-1]] })
		if strings.Contains(path, "{") || strings.Contains(path, "//") {
			t.Fatalf("route %s has a variable this test cannot fill", rt.Path)
		}
		if strings.HasPrefix(path, "/_cat/") {
			path += "?format=json"
		}
		for _, m := range rt.Methods {
			if _, skip := notJSON[m+" "+rt.Path]; skip {
				continue
			}
			n++
			t.Run(m+" "+rt.Path, func(t *testing.T) { checkConventions(t, c, n%3, m, path) })
		}
	}
}

// checkConventions sends one route with ?pretty, then filters to its
// first top-level field and without it.
func checkConventions(t *testing.T, c *testcluster.Cluster, node int, method, path string) {
	var body any
	if method != "GET" && method != "DELETE" {
		body = "{}"
	}
	with := func(params string) testcluster.Response {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		return c.Do(node, method, path+sep+params, testcluster.Elastic, body)
	}
	pretty := with("pretty")
	if !bytes.HasSuffix(pretty.Body, []byte("\n")) || !json.Valid(pretty.Body) {
		t.Fatalf("?pretty: %d %.300q", pretty.Status, pretty.Body)
	}
	var compact bytes.Buffer
	json.Compact(&compact, pretty.Body)
	var indented bytes.Buffer
	json.Indent(&indented, compact.Bytes(), "", "  ")
	if indented.String()+"\n" != string(pretty.Body) {
		t.Fatalf("?pretty is not indented: %.300q", pretty.Body)
	}
	keys := topKeys(t, compact.Bytes())
	if len(keys) == 0 {
		t.Fatalf("answer %d %.300s has no field to filter", pretty.Status, pretty.Body)
	}
	first := keys[0]
	included := with("filter_path=" + url.QueryEscape(first))
	if included.Status != pretty.Status {
		// A write that answers differently the second time (a create that
		// now conflicts): the filter is checked against that answer.
		pretty = with("pretty")
		json.Compact(&compact, pretty.Body)
		if keys = topKeys(t, pretty.Body); len(keys) == 0 {
			t.Fatalf("answer %d %.300s has no field to filter", pretty.Status, pretty.Body)
		}
		first = keys[0]
		included = with("filter_path=" + url.QueryEscape(first))
	}
	if got := topKeys(t, included.Body); len(got) != 1 || got[0] != first {
		t.Fatalf("filter_path=%s kept %v of %v (%d %.200s)", first, got, keys, included.Status, included.Body)
	}
	if got := topKeys(t, with("filter_path=-"+url.QueryEscape(first)).Body); len(got) == 0 && len(keys) > 1 || contains(got, first) {
		t.Fatalf("filter_path=-%s kept %v of %v", first, got, keys)
	}
}

// topKeys lists the top-level fields of an answer in order; an array's
// are those of its first element, with "" for an empty array.
func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		t.Fatalf("not JSON: %.300q", body)
	}
	if tok == json.Delim('[') {
		var first map[string]json.RawMessage
		if !dec.More() {
			return nil
		}
		dec.Decode(&first)
		var keys []string
		for k := range first {
			keys = append(keys, k)
		}
		return keys
	}
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("not JSON: %.300q", body)
		}
	}
	return keys
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
