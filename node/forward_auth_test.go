package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A bad rule file stops the node before it serves, with one line naming
// the file and the rule; a good one reaches authn.
func TestForwardAuthRulesAtStart(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad.json"), []byte(`{"application": "myapp", "rules": [{"path": "nope"}]}`), 0o600)
	_, err := Open(Config{NodeID: "n0", DataDir: dir, ConfigDir: dir, HTTPAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		Settings: Settings{"tokenstore.forward_auth.rules": "bad.json"}})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), filepath.Join(dir, "bad.json")) ||
		!strings.Contains(err.Error(), "rule 0: path [nope]") {
		t.Fatalf("got %v", err)
	}
	os.WriteFile(filepath.Join(dir, "good.json"), []byte(`{"application": "myapp", "rules": [{"path": "/"}]}`), 0o600)
	rules, err := loadForwardAuthRules("good.json", dir)
	if err != nil || rules.Application != "myapp" {
		t.Fatalf("good file: %v %v", rules, err)
	}
	if rules, err := loadForwardAuthRules("", dir); rules != nil || err != nil {
		t.Fatalf("no file: %v %v", rules, err)
	}
}
