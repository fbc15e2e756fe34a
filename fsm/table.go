package fsm

// table is a map of records whose values also sit in one slice, so that a
// snapshot copies them all with a single memmove instead of walking a map
// of a million entries while every write waits. Records are immutable:
// replacing one stores a new pointer in its slot.
type table[V any] struct {
	slot   map[string]int32
	values []*V
	key    func(*V) string
	// marks is a number per record, beside values, that an event may raise
	// without replacing the record (an API key's last use: raising it must
	// not make the record new to the caches keyed by its pointer). Nil
	// until the first is raised, so a table that never uses it pays nothing.
	marks []int64
}

func newTable[V any](key func(*V) string, capacity int) *table[V] {
	return &table[V]{slot: make(map[string]int32, capacity), values: make([]*V, 0, capacity), key: key}
}

func (t *table[V]) get(k string) (*V, bool) {
	i, ok := t.slot[k]
	if !ok {
		return nil, false
	}
	return t.values[i], true
}

func (t *table[V]) has(k string) bool {
	_, ok := t.slot[k]
	return ok
}

// put adds v or replaces the record with its key.
func (t *table[V]) put(v *V) {
	k := t.key(v)
	if i, ok := t.slot[k]; ok {
		t.values[i] = v
		return
	}
	t.slot[k] = int32(len(t.values))
	t.values = append(t.values, v)
	if t.marks != nil {
		t.marks = append(t.marks, 0)
	}
}

// mark is the record's mark; 0 when it has none or there is no record.
func (t *table[V]) mark(k string) int64 {
	i, ok := t.slot[k]
	if !ok || t.marks == nil {
		return 0
	}
	return t.marks[i]
}

// raise sets the record's mark to v if v is greater, and reports whether
// it did; a key without a record is left alone.
func (t *table[V]) raise(k string, v int64) bool {
	i, ok := t.slot[k]
	if !ok {
		return false
	}
	if t.marks == nil {
		t.marks = make([]int64, len(t.values), cap(t.values))
	}
	if v <= t.marks[i] {
		return false
	}
	t.marks[i] = v
	return true
}

// del removes the record with key k; the last record takes its slot.
func (t *table[V]) del(k string) {
	i, ok := t.slot[k]
	if !ok {
		return
	}
	last := len(t.values) - 1
	if int(i) != last {
		moved := t.values[last]
		t.values[i] = moved
		t.slot[t.key(moved)] = i
	}
	t.values[last] = nil
	t.values = t.values[:last]
	if t.marks != nil {
		t.marks[i] = t.marks[last]
		t.marks = t.marks[:last]
	}
	delete(t.slot, k)
}

func (t *table[V]) len() int { return len(t.values) }

// filter returns the records for which keep is true, in no particular order.
func (t *table[V]) filter(keep func(*V) bool) []*V {
	var out []*V
	for _, v := range t.values {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out
}

// deleteIf removes the records for which gone is true and returns their
// keys; which records go does not depend on the order of the walk.
func (t *table[V]) deleteIf(gone func(*V) bool) []string {
	var keys []string
	for _, v := range t.values {
		if gone(v) {
			keys = append(keys, t.key(v))
		}
	}
	for _, k := range keys {
		t.del(k)
	}
	return keys
}

// copyAll is a copy of every record, in no particular order.
func (t *table[V]) copyAll() []*V { return append([]*V(nil), t.values...) }

// copyWithMarks is a copy of every record and of its mark, in no
// particular order, or nothing when no mark was ever raised: two memmoves
// under the caller's lock, the filtering after it.
func (t *table[V]) copyWithMarks() ([]*V, []int64) {
	if t.marks == nil {
		return nil, nil
	}
	return append([]*V(nil), t.values...), append([]int64(nil), t.marks...)
}

func newAPIKeyTable(capacity int) *table[APIKey] {
	return newTable(func(k *APIKey) string { return k.ID }, capacity)
}

func newTokenTable(capacity int) *table[TokenPair] {
	return newTable(func(t *TokenPair) string { return t.DocID }, capacity)
}
