package httpapi

import (
	"testing"
	"time"
)

// TimeValue.toString as Elasticsearch spells it: the largest unit reached,
// the first decimal truncated, dropped when it is 0.
func TestTimeValue(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Nanosecond: "1nanos", 1500 * time.Nanosecond: "1.5micros", 250 * time.Millisecond: "250ms",
		1500 * time.Millisecond: "1.5s", 1999 * time.Millisecond: "1.9s", 1050 * time.Millisecond: "1s",
		time.Minute: "1m", 90 * time.Second: "1.5m", 2 * time.Hour: "2h", 36 * time.Hour: "1.5d", 400 * 24 * time.Hour: "400d",
	} {
		if got := timeValue(d); got != want {
			t.Errorf("%v: %s, want %s", d, got, want)
		}
	}
	if got := percentage(100); got != "100.0%" {
		t.Errorf("percentage(100): %s", got)
	}
}
