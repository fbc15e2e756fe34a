package fsm

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"unique"
)

// API keys and token pairs are nearly all of a large state, so from format
// version 2 their records are a fixed sequence of length-prefixed fields
// instead of JSON: writing and reading them costs no reflection and, for
// reading, one allocation per string. The field order is the format; a new
// field means a new version (TestBinaryRecordsCoverEveryField guards it).

type binWriter struct{ b []byte }

func (w *binWriter) str(s string) {
	w.b = binary.AppendUvarint(w.b, uint64(len(s)))
	w.b = append(w.b, s...)
}

// hash writes k.StoredHash() without building the string.
func (w *binWriter) hash(k *APIKey) {
	w.b = binary.AppendUvarint(w.b, uint64(k.storedHashLen()))
	w.b = k.appendStoredHash(w.b)
}

func (w *binWriter) raw(b []byte) {
	w.b = binary.AppendUvarint(w.b, uint64(len(b)))
	w.b = append(w.b, b...)
}

func (w *binWriter) optStr(p *string) {
	if p == nil {
		w.b = append(w.b, 0)
		return
	}
	w.b = append(w.b, 1)
	w.str(*p)
}

func (w *binWriter) int(v int64)   { w.b = binary.AppendVarint(w.b, v) }
func (w *binWriter) uint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }

func (w *binWriter) bool(v bool) {
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

var errShortRecord = errors.New("record ends early")

// binReader reads what binWriter wrote; the first error sticks.
type binReader struct {
	b   []byte
	err error
	// sets reads a descriptor map from its JSON (binReader.descriptors);
	// nil decodes it.
	sets setReader
}

func (r *binReader) fail() {
	if r.err == nil {
		r.err = errShortRecord
	}
	r.b = nil
}

func (r *binReader) uint() uint64 { return readVarint(r, binary.Uvarint) }
func (r *binReader) int() int64   { return readVarint(r, binary.Varint) }

// readVarint reads one varint with read, binary.Uvarint or binary.Varint.
func readVarint[T int64 | uint64](r *binReader, read func([]byte) (T, int)) T {
	v, n := read(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// flag reads one byte that says yes (non-zero) or no.
func (r *binReader) flag() bool {
	if len(r.b) == 0 {
		r.fail()
		return false
	}
	v := r.b[0] != 0
	r.b = r.b[1:]
	return v
}

func (r *binReader) bytes() []byte {
	n := r.uint()
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *binReader) str() string { return string(r.bytes()) }

// common is a string many records share (a realm, an owner, a type): one
// copy of it is kept in memory.
func (r *binReader) common() string { return unique.Make(string(r.bytes())).Value() }

func (r *binReader) raw() json.RawMessage {
	b := r.bytes()
	if len(b) == 0 {
		return nil
	}
	return json.RawMessage(append([]byte(nil), b...))
}

func (r *binReader) optStr() *string {
	if !r.flag() {
		return nil
	}
	s := r.str()
	return &s
}

func (r *binReader) bool() bool { return r.flag() }

func (r *binReader) done() error {
	if r.err == nil && len(r.b) != 0 {
		r.err = errors.New("record has trailing bytes")
	}
	return r.err
}

// encodeAPIKey appends k, its descriptor maps given as set references.
func encodeAPIKey(w *binWriter, k *APIKey, roleDescriptors, limitedBy int) {
	appendKeyHead(w, k)
	w.uint(uint64(roleDescriptors))
	w.uint(uint64(limitedBy))
	appendKeyOwner(w, k)
	w.uint(k.ModIndex)
}

// appendKeyHead and appendKeyOwner write what a snapshot record and a
// compact create (event_binary.go) both carry of a key, before and after
// its descriptors, which each writes its own way.
func appendKeyHead(w *binWriter, k *APIKey) {
	w.str(k.ID)
	w.str(k.Name)
	w.str(k.Type)
	w.hash(k)
	w.int(k.Creation)
	w.int(k.Expiration)
	w.bool(k.Invalidated)
	w.int(k.Invalidation)
}

func appendKeyOwner(w *binWriter, k *APIKey) {
	w.raw(k.Metadata)
	w.str(k.Creator.Principal)
	w.optStr(k.Creator.FullName)
	w.optStr(k.Creator.Email)
	w.raw(k.Creator.Metadata)
	w.str(k.Creator.Realm)
	w.str(k.Creator.RealmType)
}

func decodeAPIKey(body []byte) (k *APIKey, roleDescriptors, limitedBy uint64, err error) {
	r := &binReader{b: body}
	k = &APIKey{ID: r.str(), Name: r.str(), Type: r.common()}
	k.setHash(r.bytes())
	k.Creation, k.Expiration, k.Invalidated, k.Invalidation = r.int(), r.int(), r.bool(), r.int()
	roleDescriptors, limitedBy = r.uint(), r.uint()
	k.Metadata = r.raw()
	k.Creator = Creator{Principal: r.common(), FullName: r.optStr(), Email: r.optStr(), Metadata: r.raw(),
		Realm: r.common(), RealmType: r.common()}
	k.ModIndex = r.uint()
	return k, roleDescriptors, limitedBy, r.done()
}

func encodeTokenPair(w *binWriter, t *TokenPair) {
	appendNewPair(w, t)
	w.uint(t.ModIndex)
}

func decodeTokenPair(body []byte) (*TokenPair, error) {
	r := &binReader{b: body}
	t := &TokenPair{}
	readNewPair(r, t)
	t.ModIndex = r.uint()
	return t, r.done()
}
