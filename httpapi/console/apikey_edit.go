package console

import (
	"net/http"
	"net/url"
)

type keyData struct {
	Key                       apiKey
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

func (c *Console) handleAPIKey(w http.ResponseWriter, q *request) {
	k, a, ok := c.findKey(q, q.PathValue("id"))
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
	k, a, ok := c.findKey(q, id)
	if !ok {
		c.fail(w, q, "API key", a)
		return
	}
	d := keyData{Key: k, RoleDescriptors: q.PostFormValue("role_descriptors"), Metadata: q.PostFormValue("metadata"), Errors: map[string]string{}}
	body := map[string]any{}
	jsonField(d.RoleDescriptors, "role_descriptors", body, d.Errors)
	jsonField(d.Metadata, "metadata", body, d.Errors)
	if len(d.Errors) == 0 {
		a = c.api(q, http.MethodPut, "/_security/api_key/"+url.PathEscape(id), body)
		if a.OK() {
			http.Redirect(w, q.Request, Prefix+"/api-keys/"+url.PathEscape(id), http.StatusSeeOther)
			return
		}
		d.Errors["api"] = a.Reason()
	}
	c.renderKey(w, q, d, http.StatusBadRequest)
}

// handleInvalidateAPIKeys asks first: the confirmation page posts the
// same ids back with confirm set.
func (c *Console) handleInvalidateAPIKeys(w http.ResponseWriter, q *request) {
	q.ParseForm()
	ids := q.PostForm["id"]
	if len(ids) == 0 {
		c.fail(w, q, "Invalidate API keys", answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "no API key was selected")})
		return
	}
	if q.PostFormValue("confirm") != "yes" {
		v := q.view("Invalidate API keys", "api-keys")
		v.Data = ids
		c.render(w, http.StatusOK, "apikey_invalidate", v)
		return
	}
	a := c.api(q, http.MethodDelete, "/_security/api_key", map[string]any{"ids": ids})
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
