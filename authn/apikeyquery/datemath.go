package apikeyquery

import (
	"strconv"
	"strings"
	"time"
)

// Date math, as Elasticsearch reads it in a date field's query values:
// an anchor, "now" or a date followed by "||", then any number of
// "+<n><unit>", "-<n><unit>" and "/<unit>" (rounding), units y M w d h H m
// s, in UTC. "now-90d" is ninety days before the query's now.

// maxDateMath bounds the operations of one value: each costs a little,
// and no sensible value has more.
const maxDateMath = 16

// isDateMath reports whether s is written as date math.
func isDateMath(s string) bool { return strings.HasPrefix(s, "now") || strings.Contains(s, "||") }

// dateMath evaluates s at now (epoch ms). A rounding rounds down, or up to
// the unit's last millisecond when roundUp (gt and lte, as Elasticsearch).
func dateMath(s string, now int64, roundUp bool) (int64, error) {
	var t time.Time
	rest, ok := strings.CutPrefix(s, "now")
	if ok {
		t = time.UnixMilli(now).UTC()
	} else {
		anchor, after, _ := strings.Cut(s, "||")
		ms, err := parseDate(anchor)
		if err != nil {
			return 0, err
		}
		t, rest = time.UnixMilli(ms).UTC(), after
	}
	for ops := 0; rest != ""; ops++ {
		if ops == maxDateMath {
			return 0, badDate(s)
		}
		op := rest[0]
		digits := len(rest[1:]) - len(strings.TrimLeft(rest[1:], "0123456789"))
		if len(rest) < 2+digits || op == '/' && digits > 0 || digits > 9 || !strings.ContainsRune("yMwdhHms", rune(rest[1+digits])) {
			return 0, badDate(s)
		}
		n, unit := 1, rest[1+digits]
		if digits > 0 {
			n, _ = strconv.Atoi(rest[1 : 1+digits])
		}
		switch op {
		case '+':
			t = addUnit(t, unit, n)
		case '-':
			t = addUnit(t, unit, -n)
		case '/':
			if t = floorUnit(t, unit); roundUp {
				t = addUnit(t, unit, 1).Add(-time.Millisecond)
			}
		default:
			return 0, badDate(s)
		}
		rest = rest[2+digits:]
	}
	return t.UnixMilli(), nil
}

func addUnit(t time.Time, unit byte, n int) time.Time {
	switch unit {
	case 'y':
		return addMonths(t, 12*n)
	case 'M':
		return addMonths(t, n)
	case 'w':
		return t.AddDate(0, 0, 7*n)
	case 'd':
		return t.AddDate(0, 0, n)
	case 'h', 'H':
		return t.Add(time.Duration(n) * time.Hour)
	case 'm':
		return t.Add(time.Duration(n) * time.Minute)
	}
	return t.Add(time.Duration(n) * time.Second)
}

// addMonths keeps the day of the month where the target month has it, and
// takes its last day otherwise (Jan 31 + 1M is Feb 28), as Java's time
// does, where time.AddDate would run over into March.
func addMonths(t time.Time, n int) time.Time {
	y, mo, d := t.Date()
	first := time.Date(y, mo+time.Month(n), 1, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return first.AddDate(0, 0, min(d, first.AddDate(0, 1, -1).Day())-1)
}

// floorUnit is the start of t's unit: its year, month, ISO week (from
// Monday), day, hour, minute or second.
func floorUnit(t time.Time, unit byte) time.Time {
	y, mo, d := t.Date()
	switch unit {
	case 'y':
		return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
	case 'M':
		return time.Date(y, mo, 1, 0, 0, 0, 0, time.UTC)
	case 'w':
		return time.Date(y, mo, d-(int(t.Weekday())+6)%7, 0, 0, 0, 0, time.UTC)
	case 'd':
		return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
	case 'h', 'H':
		return t.Truncate(time.Hour)
	case 'm':
		return t.Truncate(time.Minute)
	}
	return t.Truncate(time.Second)
}

// parseDate reads a date as the default format
// strict_date_optional_time||epoch_millis does: epoch millis, or ISO-8601.
func parseDate(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, badDate(s)
}

func badDate(s string) error {
	return invalid("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]", s)
}
