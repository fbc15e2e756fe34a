package fsm

// Status is the outcome of applying one event, decided in log order so every
// node reaches the same answer.
type Status uint8

// The statuses an event can end with.
const (
	Created Status = iota + 1
	Updated
	Deleted
	NotFound
	AlreadyExists
	Unchanged
	// Rejected: the event's body could not be decoded. Every node decides
	// the same way, so the entry is skipped everywhere instead of stopping
	// the cluster.
	Rejected
	// Conflict: a conditional write whose condition (if_seq_no) no longer
	// held.
	Conflict
	// TooLarge: the write would take a record beyond its size limit.
	TooLarge
)

// Result is what Apply returns for an event. Items carries per-item statuses
// for events that touch several records (application privileges).
type Result struct {
	Status Status            `json:"status"`
	Items  map[string]Status `json:"items,omitempty"`
}

// deletedItems is the result of removing the records with these keys.
func deletedItems(keys []string) Result {
	res := Result{Status: Unchanged, Items: make(map[string]Status, len(keys))}
	for _, k := range keys {
		res.Items[k], res.Status = Deleted, Deleted
	}
	return res
}

// deleteFrom removes the record with key k from m, if there is one.
func deleteFrom[V any](m map[string]V, k string) Result {
	if _, ok := m[k]; !ok {
		return Result{Status: NotFound}
	}
	delete(m, k)
	return Result{Status: Deleted}
}
