package authn

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/tokenstore/tokenstore/fsm"
)

// Cross-cluster API keys: keys a remote cluster presents on the transport
// layer. Their one role descriptor is generated from an `access` object;
// they never authenticate a REST request, and only manage_security creates,
// updates or invalidates them.
const (
	actionCrossClusterCreate = secPrefix + "cross_cluster/api_key/create"
	actionCrossClusterUpdate = secPrefix + "cross_cluster/api_key/update"
)

// The key types of Elasticsearch's api key documents.
const (
	keyTypeREST         = "rest"
	keyTypeCrossCluster = "cross_cluster"
)

// The generated descriptor, as Elasticsearch 8.17's
// CrossClusterApiKeyRoleDescriptorBuilder writes it.
const crossClusterRole = "cross_cluster"

var (
	ccsCluster = []string{"cross_cluster_search", "monitor_enrich"}
	ccrCluster = []string{"cross_cluster_replication"}
	ccsIndices = []string{"read", "read_cross_cluster", "view_index_metadata"}
	ccrIndices = []string{"cross_cluster_replication", "cross_cluster_replication_internal"}
)

// CrossClusterAccess is the `access` object of create and update, and of
// get and query, which rebuild it from the stored descriptor.
type CrossClusterAccess struct {
	Search      []AccessIndices `json:"search,omitempty"`
	Replication []AccessIndices `json:"replication,omitempty"`
}

// AccessIndices is one entry of search or replication: index privileges
// whose privileges are implied by the list they are in.
type AccessIndices struct {
	Names                  []string        `json:"names"`
	FieldSecurity          json.RawMessage `json:"field_security,omitempty"`
	Query                  json.RawMessage `json:"query,omitempty"`
	AllowRestrictedIndices bool            `json:"allow_restricted_indices"`
}

func (a AccessIndices) usesDLSOrFLS() bool {
	return len(a.FieldSecurity) > 0 && string(a.FieldSecurity) != "null" || len(a.Query) > 0 && string(a.Query) != "null"
}

// maxAccessEntries bounds the entries of one access object: the
// descriptor is written to the log and kept in memory on every node.
const maxAccessEntries = 1000

// descriptor is the builder's build(): the one cross_cluster descriptor,
// or the validation error Elasticsearch gives.
func (a CrossClusterAccess) descriptor() (map[string]fsm.RoleDescriptor, error) {
	if len(a.Search)+len(a.Replication) > maxAccessEntries {
		return nil, invalid("access may not have more than [%d] entries", maxAccessEntries)
	}
	for _, e := range slices.Concat(a.Search, a.Replication) {
		if len(e.Names) == 0 {
			return nil, &Error{Kind: Invalid, Type: "parse_exception", Reason: fmt.Sprintf("failed to parse indices privileges for role [%s]. missing required [names] field", crossClusterRole)}
		}
	}
	var cluster []string
	switch {
	case len(a.Search) == 0 && len(a.Replication) == 0:
		return nil, invalid("must specify non-empty access for either [search] or [replication]")
	case len(a.Search) == 0:
		cluster = ccrCluster
	case len(a.Replication) == 0:
		cluster = ccsCluster
	default:
		cluster = slices.Concat(ccsCluster, ccrCluster)
		if slices.ContainsFunc(a.Search, AccessIndices.usesDLSOrFLS) {
			return nil, invalid("search does not support document or field level security if replication is assigned")
		}
	}
	if slices.ContainsFunc(a.Replication, AccessIndices.usesDLSOrFLS) {
		return nil, invalid("replication does not support document or field level security")
	}
	d := fsm.RoleDescriptor{Cluster: slices.Clone(cluster), RunAs: []string{}}
	for _, e := range a.Search {
		d.Indices = append(d.Indices, e.indices(ccsIndices))
	}
	for _, e := range a.Replication {
		d.Indices = append(d.Indices, e.indices(ccrIndices))
	}
	return map[string]fsm.RoleDescriptor{crossClusterRole: d}, nil
}

func (a AccessIndices) indices(privileges []string) fsm.IndicesPrivileges {
	return fsm.IndicesPrivileges{Names: slices.Clone(a.Names), Privileges: slices.Clone(privileges),
		FieldSecurity: a.FieldSecurity, Query: a.Query, AllowRestrictedIndices: a.AllowRestrictedIndices}
}

// AccessOf rebuilds a cross-cluster key's access object from its stored
// descriptor, as get and query API key show it.
func AccessOf(k *fsm.APIKey) CrossClusterAccess {
	var a CrossClusterAccess
	for _, ip := range k.RoleDescriptors[crossClusterRole].Indices {
		e := AccessIndices{Names: ip.Names, FieldSecurity: ip.FieldSecurity, Query: ip.Query, AllowRestrictedIndices: ip.AllowRestrictedIndices}
		switch {
		case slices.Equal(ip.Privileges, ccsIndices):
			a.Search = append(a.Search, e)
		case slices.Equal(ip.Privileges, ccrIndices):
			a.Replication = append(a.Replication, e)
		}
	}
	return a
}

// validCrossClusterDescriptor is the builder's validate(), which the
// leader applies to a forwarded cross-cluster key.
func validCrossClusterDescriptor(rds map[string]fsm.RoleDescriptor) bool {
	d, ok := rds[crossClusterRole]
	if !ok || len(rds) != 1 || len(d.Applications) > 0 || len(d.RunAs) > 0 || len(d.RemoteIndices) > 0 || len(d.Indices) == 0 || len(d.Global) > 0 {
		return false
	}
	if !slices.Equal(d.Cluster, ccsCluster) && !slices.Equal(d.Cluster, ccrCluster) && !slices.Equal(d.Cluster, slices.Concat(ccsCluster, ccrCluster)) {
		return false
	}
	for _, ip := range d.Indices {
		ccr := slices.Equal(ip.Privileges, ccrIndices)
		if !ccr && !slices.Equal(ip.Privileges, ccsIndices) || len(ip.Names) == 0 {
			return false
		}
		if ccr && (len(ip.FieldSecurity) > 0 || len(ip.Query) > 0) {
			return false
		}
	}
	return true
}

// CreateCrossClusterAPIKeyRequest is the body of create cross-cluster API key.
type CreateCrossClusterAPIKeyRequest struct {
	Name       *string             `json:"name"`
	Expiration *string             `json:"expiration"`
	Access     *CrossClusterAccess `json:"access"`
	Metadata   json.RawMessage     `json:"metadata"`
}

// CreateCrossClusterAPIKey creates a cross-cluster key owned by the caller.
// It has no limited_by: it is never evaluated against its owner's roles.
func (s *Service) CreateCrossClusterAPIKey(ctx context.Context, c Caller, req CreateCrossClusterAPIKeyRequest) (CreatedAPIKey, error) {
	if !s.cfg.APIKeysEnabled {
		return CreatedAPIKey{}, featureDisabled("api keys")
	}
	if err := s.Authorize(c, actionCrossClusterCreate); err != nil {
		return CreatedAPIKey{}, err
	}
	if c.Auth.key != nil {
		return CreatedAPIKey{}, invalid("authentication via API key not supported: An API key cannot be used to create a cross-cluster API key")
	}
	if req.Access == nil {
		return CreatedAPIKey{}, validation("Required [access]")
	}
	rds, err := req.Access.descriptor()
	if err != nil {
		return CreatedAPIKey{}, err
	}
	if req.Name == nil {
		return CreatedAPIKey{}, validation("Required [name]")
	}
	return s.createAPIKey(ctx, c, CreateAPIKeyRequest{Name: req.Name, Expiration: req.Expiration, Metadata: req.Metadata,
		RoleDescriptors: rds, HasRoleDescriptors: true, keyType: keyTypeCrossCluster}, creatorOf(c.Auth), map[string]fsm.RoleDescriptor{})
}

// UpdateCrossClusterAPIKeyRequest is the body of update cross-cluster API key.
type UpdateCrossClusterAPIKeyRequest struct {
	Access     *CrossClusterAccess `json:"access"`
	Metadata   *json.RawMessage    `json:"metadata"`
	Expiration *string             `json:"expiration"`
}

// UpdateCrossClusterAPIKey updates one cross-cluster key of the caller's;
// it reports whether anything changed.
func (s *Service) UpdateCrossClusterAPIKey(ctx context.Context, c Caller, id string, req UpdateCrossClusterAPIKeyRequest) (bool, error) {
	if !s.cfg.APIKeysEnabled {
		return false, featureDisabled("api keys")
	}
	if err := s.Authorize(c, actionCrossClusterUpdate); err != nil {
		return false, err
	}
	if req.Metadata != nil && string(*req.Metadata) == "null" {
		req.Metadata = nil
	}
	if req.Access == nil && req.Metadata == nil {
		return false, validation("must update either [access] or [metadata] for cross-cluster API keys")
	}
	upd := UpdateAPIKeyRequest{IDs: []string{id}, Metadata: req.Metadata, Expiration: req.Expiration, keyType: keyTypeCrossCluster}
	if req.Access != nil {
		rds, err := req.Access.descriptor()
		if err != nil {
			return false, err
		}
		upd.RoleDescriptors = &rds
	}
	updated, _, errs, err := s.UpdateAPIKeys(ctx, c, upd)
	if err != nil {
		return false, err
	}
	if e, ok := errs[id]; ok {
		return false, e
	}
	return len(updated) == 1, nil
}

// wrongKeyType is the update error for a key of the other type.
func wrongKeyType(got, want string) *Error {
	return invalid("cannot update API key of type [%s] while expected type is [%s]", got, want)
}

// cannotInvalidateCrossCluster is invalidate's per-key error for a
// cross-cluster key when the caller lacks manage_security.
func cannotInvalidateCrossCluster(id string) *Error {
	return &Error{Kind: Forbidden, Type: "security_exception", Reason: fmt.Sprintf("Cannot invalidate cross-cluster API key [%s]. This requires [manage_security] cluster privilege or higher", id)}
}

// mayManageCrossClusterKeys reports whether the caller holds
// manage_security's cross-cluster actions.
func (s *Service) mayManageCrossClusterKeys(c Caller) bool {
	p := s.Permission(c)
	return p.AllowsCluster(actionCrossClusterCreate) && p.AllowsCluster(actionCrossClusterUpdate)
}

// namesCrossClusterKey reports whether any of the ids is a cross-cluster
// key here; the leader checks a forwarded update or invalidation by it.
func (s *Service) namesCrossClusterKey(ids []string) bool {
	return slices.ContainsFunc(ids, func(id string) bool {
		k, ok := s.st.APIKey(id)
		return ok && k.Type == keyTypeCrossCluster
	})
}

// checkForwardedCrossClusterKey requires a forwarded cross-cluster key to
// be what the create API writes for its caller: manage_security, no API
// key, the generated descriptor and no limited_by.
func (s *Service) checkForwardedCrossClusterKey(c Caller, subject string, k fsm.APIKey) error {
	if err := s.Authorize(c, actionCrossClusterCreate); err != nil {
		return err
	}
	me := c.Auth.owner()
	switch {
	case subject != "" || c.Auth.key != nil || k.Creator.Principal != me.principal || k.Creator.Realm != me.realm:
		return errors.New("a cross-cluster key is created by its owner, who is not an API key")
	case !validCrossClusterDescriptor(k.RoleDescriptors) || len(k.LimitedBy) != 0:
		return errors.New("the key's descriptors are not the generated cross_cluster one")
	}
	return s.checkNewKey(k, c.Auth)
}

// checkForwardedCrossClusterUpdate is checkKeyUpdate for the update API of
// cross-cluster keys: manage_security, only such keys, a generated
// descriptor, no limited_by.
func (s *Service) checkForwardedCrossClusterUpdate(c Caller, p fsm.APIKeyUpdatedV2) error {
	if err := s.Authorize(c, actionCrossClusterUpdate); err != nil {
		return err
	}
	for _, id := range p.IDs {
		if k, ok := s.st.APIKey(id); !ok || k.Type != keyTypeCrossCluster {
			return errors.New("an update of cross-cluster keys names only cross-cluster keys")
		}
	}
	if len(p.LimitedBy) != 0 || (p.RoleDescriptors != nil && !validCrossClusterDescriptor(*p.RoleDescriptors)) {
		return errors.New("the update's descriptors are not a generated cross_cluster one")
	}
	return s.checkKeyUpdate(fsm.APIKeyUpdatedV2{IDs: p.IDs, Metadata: p.Metadata, Expiration: p.Expiration})
}
