package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// Elasticsearch's REST conventions, which every route honours because
// every JSON answer, errors included, goes through render: ?pretty
// indents, ?filter_path keeps (or with "-", drops) the named fields, and
// ?error_trace and ?human are accepted (see writeError for the first,
// human.go for the answers whose durations ?human spells out).

// maxFilters bounds the filters of one filter_path; each is matched
// against every field of the answer. maxFilterSegments bounds one filter's
// levels: no answer is that deep, and a longer filter, which matches
// nothing, is dropped.
const (
	maxFilters        = 64
	maxFilterSegments = 32
)

// render applies the request's filter_path and pretty to a JSON body.
func render(r *http.Request, body []byte) []byte {
	if r.URL.RawQuery == "" {
		return body // most requests: no map of parameters to build
	}
	q := r.URL.Query()
	if fp := q.Get("filter_path"); fp != "" {
		if filtered, err := filterJSON(body, parseFilterPath(fp)); err == nil {
			body = filtered
		}
	}
	if flagSet(q, "pretty") {
		var b bytes.Buffer
		if json.Indent(&b, body, "", "  ") == nil {
			b.WriteByte('\n')
			body = b.Bytes()
		}
	}
	return body
}

// flagSet reads a boolean REST parameter as Elasticsearch does: present
// with no value, or with any value but "false", is true.
func flagSet(q map[string][]string, name string) bool {
	v, ok := q[name]
	return ok && (len(v) == 0 || v[0] != "false")
}

// filterPath is a parsed filter_path: inclusions and exclusions, each a
// list of dot-separated segments where "*" matches within a segment and a
// "**" segment matches any number of levels.
type filterPath struct {
	include, exclude [][]string
	// including is set by any inclusion, one dropped for its length too:
	// the answer is then filtered (to nothing, if none is left).
	including bool
}

func parseFilterPath(v string) filterPath {
	var fp filterPath
	for i, f := range strings.Split(v, ",") {
		if i == maxFilters {
			break
		}
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		rest, exclude := strings.CutPrefix(f, "-")
		segs := collapseDoubleStars(strings.Split(rest, "."))
		fp.including = fp.including || !exclude
		switch {
		case len(segs) > maxFilterSegments:
		case exclude:
			fp.exclude = append(fp.exclude, segs)
		default:
			fp.include = append(fp.include, segs)
		}
	}
	return fp
}

// collapseDoubleStars turns a run of "**" segments into one, which matches
// the same fields: each "**" of a run would otherwise multiply the
// remainders a level carries.
func collapseDoubleStars(segs []string) []string {
	out := segs[:0]
	for _, seg := range segs {
		if seg == "**" && len(out) > 0 && out[len(out)-1] == "**" {
			continue
		}
		out = append(out, seg)
	}
	return out
}

// filterJSON filters a JSON document, keeping its field order: exclusions
// apply first, then inclusions (Elasticsearch's order). What an inclusion
// leaves without any field disappears; the top level stays an object.
func filterJSON(body []byte, fp filterPath) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	doc, err := readValue(dec)
	if err != nil {
		return nil, err
	}
	if len(fp.exclude) > 0 {
		doc, _ = filterValue(doc, state(fp.exclude), false)
	}
	if fp.including {
		var ok bool
		if doc, ok = filterValue(doc, state(fp.include), true); !ok {
			doc = &object{}
		}
	}
	return json.Marshal(doc)
}

// object is a JSON object that keeps its field order.
type object struct {
	keys []string
	vals []any
}

func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(o.vals[i])
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// readValue decodes one JSON value, objects as *object, arrays as []any.
func readValue(dec *json.Decoder) (any, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t {
	case json.Delim('{'):
		o := &object{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			o.keys, o.vals = append(o.keys, k.(string)), append(o.vals, v)
		}
		_, err = dec.Token()
		return o, err
	case json.Delim('['):
		a := []any{}
		for dec.More() {
			v, err := readValue(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err = dec.Token()
		return a, err
	}
	if t == nil {
		return nil, nil
	}
	if _, ok := t.(json.Delim); ok {
		return nil, io.ErrUnexpectedEOF
	}
	return t, nil
}

// state is the set of filter remainders that apply at one level.
type state [][]string

// step returns the remainders after descending into field key, and
// whether some filter ends exactly at key (the field matches whole).
func (s state) step(key string) (state, bool) {
	// A field named with dots ("heap.percent" in _cat) is matched as the
	// path it spells, as filters name it.
	if parts := strings.Split(key, "."); len(parts) > 1 {
		matched := false
		for _, p := range parts {
			var m bool
			if s, m = s.step(p); m {
				matched = true
			}
		}
		return s, matched
	}
	var next state
	matched := false
	for _, f := range s {
		if len(f) == 0 {
			continue
		}
		if f[0] == "**" {
			next = append(next, f) // ** stays to match deeper levels
			if len(f) == 1 {
				matched = true
				continue
			}
			if rest, m := (state{f[1:]}).step(key); m {
				matched = true
			} else {
				next = append(next, rest...)
			}
			continue
		}
		if !globSegment(f[0], key) {
			continue
		}
		if len(f) == 1 {
			matched = true
		} else {
			next = append(next, f[1:])
		}
	}
	return next.distinct(), matched
}

// distinct drops repeated remainders: "**.a.**.a" reaches the same
// remainder by several ways, and each copy would be stepped again at
// every level below, doubling the work per level. A remainder is a suffix
// of one filter, so its first element's address and its length name it.
func (s state) distinct() state {
	if len(s) < 2 {
		return s
	}
	type suffix struct {
		first *string
		n     int
	}
	seen := make(map[suffix]bool, len(s))
	out := s[:0]
	for _, f := range s {
		if len(f) == 0 {
			continue
		}
		k := suffix{&f[0], len(f)}
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// filterValue applies s to v. Including, it returns what matches and
// whether anything did; excluding, v without what matches.
func filterValue(v any, s state, include bool) (any, bool) {
	switch t := v.(type) {
	case *object:
		out := &object{}
		for i, k := range t.keys {
			next, matched := s.step(k)
			switch {
			case matched && include:
				out.keys, out.vals = append(out.keys, k), append(out.vals, t.vals[i])
			case matched:
			case len(next) == 0:
				if !include {
					out.keys, out.vals = append(out.keys, k), append(out.vals, t.vals[i])
				}
			default:
				if fv, ok := filterValue(t.vals[i], next, include); ok {
					out.keys, out.vals = append(out.keys, k), append(out.vals, fv)
				}
			}
		}
		return out, !include || len(out.keys) > 0
	case []any:
		out := []any{}
		for _, e := range t {
			if fv, ok := filterValue(e, s, include); ok {
				out = append(out, fv)
			}
		}
		return out, !include || len(out) > 0
	}
	// A scalar below an unfinished filter: kept only when excluding.
	return v, !include
}

// globSegment matches one field name against a filter segment where "*"
// matches any run of characters.
func globSegment(pattern, name string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == name
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(name, parts[0]) {
		return false
	}
	name = name[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(name, p)
		if i < 0 {
			return false
		}
		name = name[i+len(p):]
	}
	return strings.HasSuffix(name, parts[len(parts)-1])
}
