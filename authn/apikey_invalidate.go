package authn

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/tokenstore/tokenstore/fsm"
)

// InvalidateAPIKeysRequest is the body of invalidate API key.
type InvalidateAPIKeysRequest struct {
	IDs       []string `json:"ids,omitempty"`
	ID        string   `json:"id,omitempty"`
	Name      string   `json:"name,omitempty"`
	RealmName string   `json:"realm_name,omitempty"`
	Username  string   `json:"username,omitempty"`
	Owner     bool     `json:"owner,omitempty"`
}

// InvalidateResult is invalidate API key's answer.
type InvalidateResult struct {
	Invalidated           []string `json:"invalidated_api_keys"`
	PreviouslyInvalidated []string `json:"previously_invalidated_api_keys"`
	ErrorCount            int      `json:"error_count"`
	// ErrorDetails has one entry per key that could not be invalidated.
	ErrorDetails []ErrorDetail `json:"error_details,omitempty"`
}

// ErrorDetail is one of invalidate's per-key errors.
type ErrorDetail struct {
	Type   string `json:"type"`
	Reason string `json:"reason"`
}

// InvalidateAPIKeys invalidates the selected keys in one event.
func (s *Service) InvalidateAPIKeys(ctx context.Context, c Caller, req InvalidateAPIKeysRequest) (InvalidateResult, error) {
	out := InvalidateResult{Invalidated: []string{}, PreviouslyInvalidated: []string{}}
	ids := append(slices.Clone(req.IDs), req.ID)
	ids = slices.DeleteFunc(ids, func(s string) bool { return s == "" })
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if len(ids) == 0 && req.Name == "" && req.Username == "" && req.RealmName == "" && !req.Owner {
		return out, invalid("One of [api key id, api key name, username, realm name] must be specified if [owner] flag is false")
	}
	all, err := s.keyScope(c, actionAPIKeyInvalidate)
	if err != nil {
		return out, err
	}
	if !all && !c.Auth.namesOwnKeys(ids, req.Owner, req.Username, req.RealmName) {
		return out, forbiddenWith(c.Auth, actionAPIKeyInvalidate, []string{"manage_api_key", "manage_security", "all"})
	}
	// A key created elsewhere a moment ago must be found.
	if err := s.strictRead(ctx); err != nil {
		return out, err
	}
	f := keyFilter{caller: c.Auth, all: all, owner: req.Owner, name: req.Name, username: req.Username, realm: req.RealmName}
	keys := s.selectAPIKeys(ids, f.keeps)
	if len(keys) == 0 {
		return out, nil
	}
	event := fsm.APIKeysInvalidatedV1{Time: s.now().UnixMilli()}
	mayCrossCluster := s.mayManageCrossClusterKeys(c)
	for _, k := range keys {
		if k.Type == keyTypeCrossCluster && !mayCrossCluster {
			e := cannotInvalidateCrossCluster(k.ID)
			out.ErrorDetails = append(out.ErrorDetails, ErrorDetail{Type: e.Type, Reason: e.Reason})
			continue
		}
		event.IDs = append(event.IDs, k.ID)
	}
	out.ErrorCount = len(out.ErrorDetails)
	if len(event.IDs) == 0 {
		return out, nil
	}
	res, err := s.propose(ctx, c, event)
	if err != nil {
		return out, err
	}
	for _, id := range event.IDs {
		switch res.Items[id] {
		case fsm.Updated:
			out.Invalidated = append(out.Invalidated, id)
		case fsm.Unchanged:
			out.PreviouslyInvalidated = append(out.PreviouslyInvalidated, id)
		}
	}
	s.log.Info("api keys invalidated", "count", len(out.Invalidated))
	return out, nil
}

// keyFilter is what get and invalidate API key select keys by, within
// what the caller may act on.
type keyFilter struct {
	caller *Authentication
	// all: the caller may act on every key, not only its own.
	all, owner            bool
	name, username, realm string
}

func (f keyFilter) keeps(k *fsm.APIKey) bool {
	switch {
	case !f.all && !f.caller.ownsKey(k), f.owner && !f.caller.owner().owns(k) && !f.caller.ownsKey(k):
		return false
	case f.name != "" && !nameMatches(f.name, k.Name):
		return false
	case f.username != "" && k.Creator.Principal != f.username:
		return false
	case f.realm != "" && k.Creator.Realm != f.realm:
		return false
	}
	return true
}

// selectAPIKeys returns the keys the filter keeps, among the given ids when
// there are any. Ids are looked up one by one rather than matched during a
// scan of every key: a scan runs under the state's read lock, which a
// pending apply turns into a wall before every authentication, so the work
// done under it must not grow with the request.
func (s *Service) selectAPIKeys(ids []string, keep func(*fsm.APIKey) bool) []*fsm.APIKey {
	if len(ids) == 0 {
		return s.st.APIKeys(keep)
	}
	var keys []*fsm.APIKey
	for _, id := range ids {
		if k, ok := s.st.APIKey(id); ok && keep(k) {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b *fsm.APIKey) int {
		return cmp.Or(cmp.Compare(a.Creation, b.Creation), strings.Compare(a.ID, b.ID))
	})
	return keys
}
