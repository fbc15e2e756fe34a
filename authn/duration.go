package authn

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTimeValue parses Elasticsearch time values: an integer followed by
// one of nanos, micros, ms, s, m, h, d (e.g. "30m", "1d"). "-1" and "0" are
// accepted as themselves.
func ParseTimeValue(setting, v string) (time.Duration, error) {
	s := strings.TrimSpace(strings.ToLower(v))
	switch s {
	case "-1":
		return -1, nil
	case "0":
		return 0, nil
	}
	units := []struct {
		suffix string
		d      time.Duration
	}{{"nanos", time.Nanosecond}, {"micros", time.Microsecond}, {"ms", time.Millisecond},
		{"s", time.Second}, {"m", time.Minute}, {"h", time.Hour}, {"d", 24 * time.Hour}}
	for _, u := range units {
		num, ok := strings.CutSuffix(s, u.suffix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n < 0 || n > int64((1<<63-1)/u.d) {
			break
		}
		return time.Duration(n) * u.d, nil
	}
	return 0, fmt.Errorf("failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized", setting, v)
}
