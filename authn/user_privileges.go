package authn

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/tokenstore/tokenstore/fsm"
)

const actionUserPrivileges = secPrefix + "user/list_privileges"

// UserPrivileges is what GET /_security/user/_privileges reports: the
// union of what the caller's roles grant, duplicates dropped.
type UserPrivileges struct {
	Cluster       []string
	Global        []json.RawMessage
	Indices       []fsm.IndicesPrivileges
	Applications  []fsm.ApplicationPrivileges
	RunAs         []string
	RemoteIndices []fsm.RemoteIndicesPrivilege
}

// GetUserPrivileges lists the caller's own privileges; as in
// Elasticsearch every caller may, and an API key with role descriptors of
// its own is refused (its privileges are an intersection no role states).
func (s *Service) GetUserPrivileges(c Caller) (UserPrivileges, error) {
	p := s.Permission(c)
	if p.Limit != nil {
		return UserPrivileges{}, &Error{Kind: Invalid, Reason: "Cannot retrieve privileges for API keys with assigned role descriptors. " +
			"Please use the Get API key information API https://ela.st/es-api-get-api-key"}
	}
	s.obs.authorized(c, actionUserPrivileges, true)
	out := UserPrivileges{Cluster: []string{}, Global: []json.RawMessage{}, Indices: []fsm.IndicesPrivileges{},
		Applications: []fsm.ApplicationPrivileges{}, RunAs: []string{}}
	for _, d := range p.Descriptors {
		out.Cluster = append(out.Cluster, d.Cluster...)
		out.RunAs = append(out.RunAs, d.RunAs...)
		if g := bytes.TrimSpace(d.Global); len(g) > 0 && !bytes.Equal(g, []byte("null")) && !bytes.Equal(g, []byte("{}")) {
			out.Global = appendNew(out.Global, json.RawMessage(g), func(a, b json.RawMessage) bool { return bytes.Equal(a, b) })
		}
		for _, ip := range d.Indices {
			out.Indices = appendNew(out.Indices, ip, sameJSON)
		}
		for _, ap := range d.Applications {
			out.Applications = appendNew(out.Applications, ap, sameJSON)
		}
		for _, rp := range d.RemoteIndices {
			out.RemoteIndices = appendNew(out.RemoteIndices, rp, sameJSON)
		}
	}
	slices.Sort(out.Cluster)
	out.Cluster = slices.Compact(out.Cluster)
	slices.Sort(out.RunAs)
	out.RunAs = slices.Compact(out.RunAs)
	return out, nil
}

// appendNew appends v unless list holds an equal entry.
func appendNew[T any](list []T, v T, eq func(a, b T) bool) []T {
	if slices.ContainsFunc(list, func(x T) bool { return eq(x, v) }) {
		return list
	}
	return append(list, v)
}

// sameJSON compares two values by their encoding.
func sameJSON[T any](a, b T) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}
