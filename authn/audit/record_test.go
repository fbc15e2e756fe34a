package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestRecordLayout checks the line against Elasticsearch's audit layout:
// its field order, ", " separators and timestamp format.
func TestRecordLayout(t *testing.T) {
	at := time.Date(2020, 12, 30, 22, 30, 6, 949_000_000, time.FixedZone("", 2*3600))
	r := Record{Time: at, NodeID: "n0", EventType: "transport", EventAction: "access_denied", AuthenticationType: "REALM",
		UserName: "user1", UserRealm: "default_native", Roles: []string{"test_role"}, OriginType: "rest",
		OriginAddress: "[::1]:52434", RequestID: "yKOgWn2CRQCKYgZRz3phJw", Action: "cluster:admin/xpack/security/user/get"}
	want := `{"type":"audit", "timestamp":"2020-12-30T22:30:06,949+0200", "node.id":"n0", "event.type":"transport", ` +
		`"event.action":"access_denied", "authentication.type":"REALM", "user.name":"user1", "user.realm":"default_native", ` +
		`"user.roles":["test_role"], "origin.type":"rest", "origin.address":"[::1]:52434", "request.id":"yKOgWn2CRQCKYgZRz3phJw", ` +
		`"action":"cluster:admin/xpack/security/user/get"}` + "\n"
	if got := string(r.AppendJSON(nil)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestRecordEscapes(t *testing.T) {
	for _, name := range []string{`quote"back\slash`, "new\nline\ttab\x01", "caf\u00e9 \u2603", "bad\xffutf8", "</script>&"} {
		r := Record{Time: time.Unix(0, 0), EventAction: "authentication_failed", UserName: name}
		line := r.AppendJSON(nil)
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%q: not JSON: %s", name, line)
		}
		want := strings.ToValidUTF8(name, "\ufffd")
		if m["user.name"] != want {
			t.Errorf("got %q, want %q", m["user.name"], want)
		}
	}
}

func TestTimeValue(t *testing.T) {
	for d, want := range map[time.Duration]string{
		7 * 24 * time.Hour: "7d", 36 * time.Hour: "1.5d", 25 * time.Hour: "1d", 90 * time.Minute: "1.5h",
		30 * time.Minute: "30m", 45 * time.Second: "45s", 1500 * time.Millisecond: "1.5s", 250 * time.Millisecond: "250ms",
	} {
		if got := timeValue(d); got != want {
			t.Errorf("%v: got %s, want %s", d, got, want)
		}
	}
}
