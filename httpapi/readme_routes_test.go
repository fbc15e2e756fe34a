package httpapi_test

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/tokenstore/tokenstore/testcluster"
)

// readmeRow is a row of the README's API table: | `path` | `GET`, `POST` | … |
var readmeRow = regexp.MustCompile("^\\| `([^`]+)` \\| ((?:`[A-Z]+`(?:, )?)+) \\|")

// TestREADMEListsEveryRoute holds the README's API table to the router, both
// ways: a route it does not list, or a row no route serves, fails.
func TestREADMEListsEveryRoute(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(readme), "\n") {
		m := readmeRow.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, method := range strings.Split(m[2], ", ") {
			listed[strings.Trim(method, "`")+" "+m[1]] = true
		}
	}
	if len(listed) < 50 {
		t.Fatalf("the README's API table has %d method and path pairs", len(listed))
	}
	c := testcluster.New(t, 1, testcluster.Options{})
	served := map[string]bool{}
	for _, rt := range c.Node(0).Routes() {
		// Node-to-node endpoints and forward auth's prefix are named
		// beside the table; a trailing "/" answers as without it.
		if strings.HasPrefix(rt.Path, "/_tokenstore/internal") || rt.Path == "forward_auth" {
			continue
		}
		path := rt.Path
		if len(path) > 1 {
			path = strings.TrimSuffix(path, "/")
		}
		for _, method := range rt.Methods {
			served[method+" "+path] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(served)) {
		if !listed[k] {
			t.Errorf("the router serves %s; the README's API table does not list it", k)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(listed)) {
		if !served[k] {
			t.Errorf("the README's API table lists %s; no route serves it", k)
		}
	}
}
