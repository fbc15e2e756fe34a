package console

import "net/http"

// whoami is the signed-in caller as API key ownership sees it: a user owns
// the keys it created in its realm; an API key owns no key but itself.
type whoami struct {
	Username, Realm, KeyID string
}

// whoami asks _authenticate who the session is; the lookup realm is the
// user's own realm whatever the credential (a token, a password).
func (c *Console) whoami(q *request) (whoami, answer) {
	a := c.api(q, http.MethodGet, "/_security/_authenticate", nil)
	var res struct {
		Username string `json:"username"`
		Lookup   struct {
			Name string `json:"name"`
		} `json:"lookup_realm"`
		APIKey *struct {
			ID string `json:"id"`
		} `json:"api_key"`
	}
	if !a.OK() || a.decode(&res) != nil {
		return whoami{}, a
	}
	me := whoami{Username: res.Username, Realm: res.Lookup.Name}
	if res.APIKey != nil {
		me.KeyID = res.APIKey.ID
	}
	return me, a
}

func (me whoami) owns(k apiKey) bool {
	if me.KeyID != "" {
		return k.ID == me.KeyID
	}
	return k.Username == me.Username && k.Realm == me.Realm
}

// keyRow is a key with what the caller may do to it, so that a page offers
// only what the API would accept.
type keyRow struct {
	apiKey
	CanUpdate, CanInvalidate bool
}

// rights applies the API's rules to one key. Invalidation: manage_api_key
// (or manage_security) any key, manage_own_api_key one's own; a
// cross-cluster key needs manage_security. Update: only a user (not an API
// key) updating its own active key of type rest; the update API refuses
// everything else.
func (p privs) rights(me whoami, k apiKey) keyRow {
	r := keyRow{apiKey: k}
	r.CanInvalidate = !k.Invalidated && (p.ManageAllKeys || (p.OwnKeys && me.owns(k))) &&
		(k.Type != "cross_cluster" || p.ManageSecurity)
	r.CanUpdate = !p.APIKeyAuth && p.CreateKeys() && me.KeyID == "" && me.owns(k) &&
		k.Type == "rest" && k.State() == "active"
	return r
}
