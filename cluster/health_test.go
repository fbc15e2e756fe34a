package cluster

import (
	"testing"
	"time"
)

// A member is fenced only once its lease has surely run out since the
// latest of: its last answer, the start of probing, and when this node
// first met it. A member met a moment ago (a node that just joined, not
// yet registered or probed) is not fenced, however long this node has run.
func TestFencedCountsFromTheLatestContactOrFirstMeeting(t *testing.T) {
	n := &Node{cfg: Config{ReadLease: time.Second, HeartbeatTimeout: time.Second}}
	long := time.Now().Add(-time.Hour)
	cases := []struct {
		name       string
		lastSeen   time.Time
		firstKnown time.Time
		want       bool
	}{
		{"never seen, known since long ago", time.Time{}, long, true},
		{"never seen, just met", time.Time{}, time.Time{}, false},
		{"answered just now", time.Now(), long, false},
		{"answered long ago", long, long, true},
		{"answered long ago, met just now", long, time.Now(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := &healthProbe{node: n, lastSeen: map[string]time.Time{}, firstKnown: map[string]time.Time{}, since: long}
			if !tc.lastSeen.IsZero() {
				h.lastSeen["m"] = tc.lastSeen
			}
			if !tc.firstKnown.IsZero() {
				h.firstKnown["m"] = tc.firstKnown
			}
			if got := h.fenced("m"); got != tc.want {
				t.Fatalf("fenced: got %v, want %v", got, tc.want)
			}
		})
	}
}
