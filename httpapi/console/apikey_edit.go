package console

import (
	"fmt"
	"net/http"
	"net/url"
)

type keyData struct {
	Key                       keyRow
	RoleDescriptors, Metadata string
	Errors                    map[string]string
}

func (c *Console) findKey(q *request, id string) (apiKey, answer, bool) {
	a := c.api(q, http.MethodPost, "/_security/_query/api_key",
		map[string]any{"query": map[string]any{"ids": map[string]any{"values": []string{id}}}})
	var res queryAnswer
	if !a.OK() || a.decode(&res) != nil {
		return apiKey{}, a, false
	}
	if len(res.APIKeys) == 0 {
		return apiKey{}, answer{Status: http.StatusNotFound, Body: esError(http.StatusNotFound, "no API key ["+id+"] that this user may see")}, false
	}
	return res.APIKeys[0], a, true
}

// findKeyRow is findKey with what the caller may do to the key.
func (c *Console) findKeyRow(q *request, id string) (keyRow, answer, bool) {
	k, a, ok := c.findKey(q, id)
	if !ok {
		return keyRow{}, a, false
	}
	me, a := c.whoami(q)
	if !a.OK() {
		return keyRow{}, a, false
	}
	return q.can.rights(me, k), a, true
}

func (c *Console) handleAPIKey(w http.ResponseWriter, q *request) {
	k, a, ok := c.findKeyRow(q, q.PathValue("id"))
	if !ok {
		c.fail(w, q, "API key", a)
		return
	}
	c.renderKey(w, q, keyData{Key: k, RoleDescriptors: indent(k.RoleDescriptors), Metadata: indent(k.Metadata)}, http.StatusOK)
}

func (c *Console) renderKey(w http.ResponseWriter, q *request, d keyData, status int) {
	v := q.view("API key "+d.Key.Name, "api-keys")
	v.Data = d
	c.render(w, status, "apikey", v)
}

// handleUpdateAPIKey replaces a key's metadata and role descriptors.
func (c *Console) handleUpdateAPIKey(w http.ResponseWriter, q *request) {
	id := q.PathValue("id")
	k, a, ok := c.findKeyRow(q, id)
	if !ok {
		c.fail(w, q, "API key", a)
		return
	}
	d := keyData{Key: k, RoleDescriptors: q.PostFormValue("role_descriptors"), Metadata: q.PostFormValue("metadata"), Errors: map[string]string{}}
	body := map[string]any{}
	jsonField(d.RoleDescriptors, "role_descriptors", body, d.Errors)
	jsonField(d.Metadata, "metadata", body, d.Errors)
	status := http.StatusBadRequest
	if len(d.Errors) == 0 {
		a = c.api(q, http.MethodPut, "/_security/api_key/"+url.PathEscape(id), body)
		if a.OK() {
			http.Redirect(w, q.Request, Prefix+"/api-keys/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
		d.Errors["api"], status = a.Reason(), a.Status
	}
	if !k.CanUpdate {
		// No form to show the sent text in: the page shows the key as it is.
		d.RoleDescriptors, d.Metadata = indent(k.RoleDescriptors), indent(k.Metadata)
	}
	c.renderKey(w, q, d, status)
}

// maxInvalidateAtOnce bounds the keys one console invalidation names.
const maxInvalidateAtOnce = 1000

// handleInvalidateAPIKeys asks first: the confirmation page posts the
// same ids back with confirm set.
func (c *Console) handleInvalidateAPIKeys(w http.ResponseWriter, q *request) {
	q.ParseForm()
	ids := q.PostForm["id"]
	if len(ids) == 0 {
		c.fail(w, q, "Invalidate API keys", answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "no API key was selected")})
		return
	}
	// A list page shows far fewer; the cap keeps the confirmation page (it
	// lists every id posted) small whatever a forged form posts.
	if len(ids) > maxInvalidateAtOnce {
		c.fail(w, q, "Invalidate API keys", answer{Status: http.StatusBadRequest,
			Body: esError(http.StatusBadRequest, fmt.Sprintf("at most %d API keys can be invalidated at once", maxInvalidateAtOnce))})
		return
	}
	if q.PostFormValue("confirm") != "yes" {
		v := q.view("Invalidate API keys", "api-keys")
		v.Data = ids
		c.render(w, http.StatusOK, "apikey_invalidate", v)
		return
	}
	body := map[string]any{"ids": ids}
	if !q.can.ManageAllKeys && !q.can.APIKeyAuth {
		// manage_own_api_key names its own keys with owner (the API refuses
		// bare ids to it); an API key names itself by id.
		body["owner"] = true
	}
	a := c.api(q, http.MethodDelete, "/_security/api_key", body)
	var res struct {
		Invalidated []string `json:"invalidated_api_keys"`
		Previously  []string `json:"previously_invalidated_api_keys"`
		ErrorCount  int      `json:"error_count"`
	}
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Invalidate API keys", a)
		return
	}
	v := q.view("API keys invalidated", "api-keys")
	v.Data = res
	c.render(w, http.StatusOK, "apikey_invalidated", v)
}
