package apikeyquery

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// last_used is a date field like expiration: absent for a key never used,
// so a range never selects it and exists/must_not exists tells them apart;
// its bounds may be date math counted from the request's now.
func TestLastUsedQueries(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 30, 0, 0, time.UTC)
	day := int64(24 * time.Hour / time.Millisecond)
	docs := []Doc{
		{ID: "old", LastUsed: now.UnixMilli() - 100*day},
		{ID: "recent", LastUsed: now.UnixMilli() - day},
		{ID: "never"},
		{ID: "today", LastUsed: now.UnixMilli() - int64(time.Hour/time.Millisecond)},
	}
	tests := []struct {
		query, sort string
		want        []string
	}{
		{`{"range":{"last_used":{"lt":"now-90d"}}}`, ``, []string{"old"}},
		{`{"range":{"last_used":{"gte":"now-90d"}}}`, ``, []string{"recent", "today"}},
		{`{"bool":{"should":[{"range":{"last_used":{"lt":"now-30d"}}},{"bool":{"must_not":{"exists":{"field":"last_used"}}}}]}}`, ``, []string{"old", "never"}},
		{`{"exists":{"field":"last_used"}}`, `[{"last_used":"desc"}]`, []string{"today", "recent", "old"}},
		{``, `[{"last_used":"asc"}]`, []string{"old", "recent", "today", "never"}},
		// Rounding: /d is the day's start for lt and gte, its end for lte and gt.
		{`{"range":{"last_used":{"gte":"now/d"}}}`, ``, []string{"today"}},
		{`{"range":{"last_used":{"lte":"now-1d/d"}}}`, ``, []string{"old", "recent"}},
		{`{"range":{"last_used":{"gt":"now-1d/d"}}}`, ``, []string{"today"}},
		{`{"range":{"last_used":{"lt":"2026-12-05||-2d"}}}`, ``, []string{"old"}},
		{`{"range":{"last_used":{"gte":"now-1M","lt":"now+1y"}}}`, ``, []string{"recent", "today"}},
	}
	for _, tc := range tests {
		q, err := Compile(Request{Query: json.RawMessage(tc.query), Sort: json.RawMessage(tc.sort), Now: now})
		if err != nil {
			t.Errorf("%s: %v", tc.query, err)
			continue
		}
		if _, page, _ := q.Run(docs); !reflect.DeepEqual(idsOf(page), tc.want) {
			t.Errorf("%s sort %s: got %v, want %v", tc.query, tc.sort, idsOf(page), tc.want)
		}
	}
}

func TestDateMath(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 30, 15, 0, time.UTC).UnixMilli() // a Saturday
	at := func(s string) int64 { tm, _ := time.Parse(time.RFC3339Nano, s); return tm.UnixMilli() }
	for _, tc := range []struct {
		in      string
		roundUp bool
		want    int64
	}{
		{"now", false, now},
		{"now-90d", false, at("2026-09-06T12:30:15Z")},
		{"now+1h-30m", false, at("2026-12-05T13:00:15Z")},
		{"now/w", false, at("2026-11-30T00:00:00Z")},
		{"now/M", true, at("2026-12-31T23:59:59.999Z")},
		{"now-1y/y", false, at("2025-01-01T00:00:00Z")},
		{"now+d", false, at("2026-12-06T12:30:15Z")},
		{"2026-01-31||+1M", false, at("2026-02-28T00:00:00Z")},
		{"2024-02-29||+1y", false, at("2025-02-28T00:00:00Z")},
		{"1000||+1s", false, 2000},
	} {
		if got, err := dateMath(tc.in, now, tc.roundUp); err != nil || got != tc.want {
			t.Errorf("dateMath(%q): got %d %v, want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"now-", "now-90", "now-90x", "now/1d", "now*2d", "x||+1d", "now-9999999999d", "now" + strings.Repeat("+1d", maxDateMath+1)} {
		if _, err := dateMath(bad, now, false); err == nil {
			t.Errorf("dateMath(%q) accepted", bad)
		}
	}
	if _, err := Compile(Request{Query: json.RawMessage(`{"range":{"last_used":{"lt":"now-90q"}}}`)}); err == nil {
		t.Error("a bad date math bound compiled")
	}
}
