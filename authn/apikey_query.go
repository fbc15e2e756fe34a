package authn

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/tokenstore/tokenstore/authn/apikeyquery"
	"github.com/tokenstore/tokenstore/fsm"
)

// APIKeyQueryRequest is the body of POST /_security/_query/api_key.
type APIKeyQueryRequest = apikeyquery.Request

// QueryAPIKeys runs the query DSL over the keys the caller may see; the
// map is the aggregations' answer, nil when the request had none.
func (s *Service) QueryAPIKeys(ctx context.Context, c Caller, req APIKeyQueryRequest, withLimitedBy bool) (int, []APIKeyInfo, [][]any, map[string]any, error) {
	all, err := s.keyScope(c, actionAPIKeyQuery)
	if err != nil {
		return 0, nil, nil, nil, err
	}
	// manage_own_api_key shows an owner the limited_by of its keys, but
	// never to an API key (ManageOwnApiKeyClusterPrivilege).
	if withLimitedBy && !all && c.Auth.APIKey != nil {
		return 0, nil, nil, nil, forbidden(c.Auth, actionAPIKeyQuery)
	}
	req.Now = s.now()
	q, err := apikeyquery.Compile(req)
	if err != nil {
		return 0, nil, nil, nil, queryError(err)
	}
	s.freshRead(ctx)
	keys := s.withLastUse(s.st.APIKeys(func(k *fsm.APIKey) bool { return all || c.Auth.ownsKey(k) }))
	byID := make(map[string]APIKeyInfo, len(keys))
	docs := make([]apikeyquery.Doc, 0, len(keys))
	for _, k := range keys {
		byID[k.ID] = k
		var md map[string]any
		if len(k.Metadata) > len("{}") { // most keys have none: spare the decoder
			json.Unmarshal(k.Metadata, &md)
		}
		docs = append(docs, apikeyquery.Doc{ID: k.ID, Name: k.Name, Username: k.Creator.Principal, Realm: k.Creator.Realm,
			Type: k.Type, Creation: k.Creation, Expiration: k.Expiration, Invalidated: k.Invalidated,
			Invalidation: k.Invalidation, LastUsed: k.LastUsed, Metadata: md})
	}
	aggs, err := q.Aggregate(docs, req.TypedKeys)
	if err != nil {
		return 0, nil, nil, nil, queryError(err)
	}
	total, page, sortValues := q.Run(docs)
	out := make([]APIKeyInfo, len(page))
	for i, d := range page {
		out[i] = byID[d.ID]
	}
	return total, out, sortValues, aggs, nil
}

// queryError is the 400 for a query the query language refused.
func queryError(err error) error {
	var qe *apikeyquery.Error
	if errors.As(err, &qe) {
		return &Error{Kind: Invalid, Type: "illegal_argument_exception", Reason: qe.Reason}
	}
	return err
}
