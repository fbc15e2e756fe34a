package authn

import (
	"testing"
	"time"
)

func TestParseTimeValue(t *testing.T) {
	good := map[string]time.Duration{"1d": 24 * time.Hour, "12h": 12 * time.Hour, "30m": 30 * time.Minute,
		"10s": 10 * time.Second, "250ms": 250 * time.Millisecond, "0": 0, "-1": -1, "5micros": 5 * time.Microsecond}
	for in, want := range good {
		got, err := ParseTimeValue("x", in)
		if err != nil || got != want {
			t.Errorf("ParseTimeValue(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "10", "1y", "s", "-5s", "1.5h", "99999999999999999999d", "10 s"} {
		if _, err := ParseTimeValue("x", in); err == nil {
			t.Errorf("ParseTimeValue(%q) = nil error, want an error", in)
		}
	}
}
