package node

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tokenstore/tokenstore/authn"
)

// The parsers below are shared by the rows of settingTable; each writes the
// error message its family of settings has always had.

func flag(set func(r *resolved, on bool)) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		if v != "true" && v != "false" {
			return fmt.Errorf("setting [%s] must be [true] or [false], got [%s]", name, v)
		}
		set(r, v == "true")
		return nil
	}
}

func text(dst func(*resolved) *string) func(*resolved, string, string) error {
	return func(r *resolved, _, v string) error {
		*dst(r) = v
		return nil
	}
}

// fileList reads a comma-separated list of files.
func fileList(dst func(*resolved) *[]string) func(*resolved, string, string) error {
	return func(r *resolved, _, v string) error {
		var files []string
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				files = append(files, f)
			}
		}
		*dst(r) = files
		return nil
	}
}

func numberFromTo(lo, hi int, dst func(*resolved) *int) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("setting [%s] must be a number from %d to %d, got [%s]", name, lo, hi, v)
		}
		*dst(r) = n
		return nil
	}
}

func logEntries(dst func(*resolved) *uint64) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("setting [%s] must be a positive number of log entries, got [%s]", name, v)
		}
		*dst(r) = n
		return nil
	}
}

func timeFromTo(lo, hi time.Duration, dst func(*resolved) *time.Duration) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		d, err := authn.ParseTimeValue(name, v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("setting [%s] must be a time value from [%s] to [%s], got [%s]", name, timeValue(lo), timeValue(hi), v)
		}
		*dst(r) = d
		return nil
	}
}

func timeBetween(lo, hi time.Duration, dst func(*resolved) *time.Duration) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		d, err := authn.ParseTimeValue(name, v)
		if err != nil || d < lo || d > hi {
			return fmt.Errorf("setting [%s] must be a time value between [%s] and [%s], got [%s]", name, timeValue(lo), timeValue(hi), v)
		}
		*dst(r) = d
		return nil
	}
}

// purgeTime reads a purge period: at least a second, or 0 where zeroOK
// (a retention of 0 purges at once).
func purgeTime(zeroOK bool, dst func(*resolved) *time.Duration) func(*resolved, string, string) error {
	return func(r *resolved, name, v string) error {
		d, err := authn.ParseTimeValue(name, v)
		if err != nil {
			return err
		}
		if d < time.Second && !(zeroOK && d == 0) {
			return fmt.Errorf("failed to parse value [%s] for setting [%s]: must be >= 1s", v, name)
		}
		*dst(r) = d
		return nil
	}
}

// timeValue writes a duration as Elasticsearch does: 500ms, 10s, 5m, 1h.
func timeValue(d time.Duration) string {
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if d%u.unit == 0 {
			return strconv.FormatInt(int64(d/u.unit), 10) + u.name
		}
	}
	return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
}
