package httpapi

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ?human: Elasticsearch then writes, before each raw duration or
// percentage of an answer, a readable duplicate ("task_max_waiting_in_queue":
// "0s" before task_max_waiting_in_queue_millis). The answers with such
// fields read it: cluster health among Elasticsearch's, the membership
// list's last contact among tokenstore's own. No other answer this API
// gives has one (API keys, tokens and profiles write epoch millis without
// a readable twin in Elasticsearch too).

// humanOn reports whether the request asks for readable duplicates.
func humanOn(r *http.Request) bool {
	return r.URL.RawQuery != "" && flagSet(r.URL.Query(), "human")
}

// timeUnits are TimeValue's units, largest first, in nanoseconds.
var timeUnits = []struct {
	size   time.Duration
	suffix string
}{
	{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"},
	{time.Millisecond, "ms"}, {time.Microsecond, "micros"}, {time.Nanosecond, "nanos"},
}

// timeValue is Elasticsearch's TimeValue.toString: the duration in the
// largest unit it reaches, with the first decimal of that value's
// shortest spelling (truncated, not rounded) unless it is 0: "0s",
// "250ms", "1.5s", "2h".
func timeValue(d time.Duration) string {
	if d < 0 {
		return strconv.FormatInt(d.Milliseconds(), 10)
	}
	if d == 0 {
		return "0s"
	}
	for _, u := range timeUnits {
		if d >= u.size {
			return oneDecimal(float64(d)/float64(u.size)) + u.suffix
		}
	}
	return "0s" // unreachable: d >= 1ns
}

// oneDecimal keeps the first decimal of a value's shortest spelling, as
// TimeValue's formatDecimal does with one fraction piece; the values it
// gets (1 and up, under 10^7) are spelled without an exponent in Java.
func oneDecimal(v float64) string {
	whole, frac, _ := strings.Cut(strconv.FormatFloat(v, 'f', -1, 64), ".")
	if frac == "" || frac[0] == '0' {
		return whole
	}
	return whole + "." + frac[:1]
}

// percentage is XContentBuilder.percentageField's readable value.
func percentage(p float64) string { return fmt.Sprintf("%.1f%%", p) }
