package authn

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// A _suggest body of up to 10 MiB is matched against every enabled
// profile: a name of two million repeated words, or a hint of a hundred
// thousand uids, was scanned again for each profile (2,000 profiles: tens
// of seconds for one request of a read_security caller). Matching now
// costs what each profile holds.
func TestSuggestCostDoesNotRepeatTheRequest(t *testing.T) {
	profiles := make([]*fsm.Profile, 2_000)
	for i := range profiles {
		name := fmt.Sprintf("Jack Nicholson %d", i)
		profiles[i] = &fsm.Profile{UID: fmt.Sprintf("u_%d", i), Username: fmt.Sprintf("jack%d", i), FullName: &name,
			Labels: []byte(`{"space":"default"}`)}
	}
	name := strings.Repeat("jack nich ", 1_000_000)
	req := SuggestRequest{Name: &name}
	req.Hint = &struct {
		UIDs   []string            `json:"uids"`
		Labels map[string][]string `json:"labels"`
	}{Labels: map[string][]string{"space": make([]string, 100_000)}}
	for i := range 100_000 {
		req.Hint.UIDs = append(req.Hint.UIDs, fmt.Sprintf("u_none_%d", i))
		req.Hint.Labels["space"][i] = fmt.Sprintf("s%d", i)
	}
	req.Hint.Labels["space"][99_999] = "default"
	start := time.Now()
	m := newSuggestion(req)
	matched, hinted := 0, 0
	for _, p := range profiles {
		if m.matchesAll(p) {
			matched++
			if m.hinted(p) {
				hinted++
			}
		}
	}
	if matched != len(profiles) || hinted != len(profiles) {
		t.Fatalf("matched %d, hinted %d of %d", matched, hinted, len(profiles))
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("one suggestion over %d profiles took %v", len(profiles), d)
	}
	other := "jack zzz"
	if newSuggestion(SuggestRequest{Name: &other}).matchesAll(profiles[0]) {
		t.Fatal("a word no field starts with matched")
	}
}
