package authn

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// formatTimeValue writes d in the largest unit that holds it exactly, as
// Elasticsearch's TimeValue does for the values it prints.
func formatTimeValue(d time.Duration) string {
	for _, u := range []struct {
		suffix string
		d      time.Duration
	}{{"d", 24 * time.Hour}, {"h", time.Hour}, {"m", time.Minute}, {"s", time.Second},
		{"ms", time.Millisecond}, {"micros", time.Microsecond}} {
		if d%u.d == 0 {
			return strconv.FormatInt(int64(d/u.d), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(d), 10) + "nanos"
}

// FuzzParseTimeValue: no panic; never negative but for "-1"; what parses
// comes back from its formatting; a refusal names the setting and value.
func FuzzParseTimeValue(f *testing.F) {
	for _, seed := range []string{"30m", "1d", "20m", "-1", "0", " 5S ", "1h", "500ms", "7micros", "9nanos",
		"106751d", "106752d", "9223372036854775807nanos", "-5s", "+5s", "1.5s", "5", "s", "", "1 s"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := ParseTimeValue("xpack.security.authc.token.timeout", v)
		if err != nil {
			if !strings.Contains(err.Error(), "[xpack.security.authc.token.timeout]") {
				t.Fatalf("error does not name the setting: %v", err)
			}
			return
		}
		if d < 0 && !(d == -1 && strings.TrimSpace(v) == "-1") {
			t.Fatalf("%q parsed to %v", v, d)
		}
		if d < 0 {
			return
		}
		again, err := ParseTimeValue("x", formatTimeValue(d))
		if err != nil || again != d {
			t.Fatalf("%q: %v formats as %q, which parses to %v (%v)", v, d, formatTimeValue(d), again, err)
		}
	})
}
