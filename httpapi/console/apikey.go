package console

import (
	"encoding/json"
	"net/http"
	"time"
)

// apiKey is one key as the query and get APIs show it.
type apiKey struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Type            string          `json:"type"`
	Creation        int64           `json:"creation"`
	Expiration      int64           `json:"expiration"`
	Invalidated     bool            `json:"invalidated"`
	Invalidation    int64           `json:"invalidation"`
	Username        string          `json:"username"`
	Realm           string          `json:"realm"`
	Metadata        json.RawMessage `json:"metadata"`
	RoleDescriptors json.RawMessage `json:"role_descriptors"`
}

// State is how the list shows the key.
func (k apiKey) State() string {
	switch {
	case k.Invalidated:
		return "invalidated"
	case k.Expiration > 0 && k.Expiration <= time.Now().UnixMilli():
		return "expired"
	}
	return "active"
}

type queryAnswer struct {
	Total   int      `json:"total"`
	Count   int      `json:"count"`
	APIKeys []apiKey `json:"api_keys"`
}

// keyForm is the create form as it was sent, to show again with its
// errors in place.
type keyForm struct {
	Name, Expiration, RoleDescriptors, Metadata string
	Errors                                      map[string]string
}

type keysData struct {
	Filter keyFilter
	Keys   []keyRow
	// AnyInvalidate: some key of the page may be invalidated by the caller,
	// so the page offers selection and the invalidate button.
	AnyInvalidate bool
	Total         int
	First         int
	Last          int
	Prev, Next    int
	Form          keyForm
}

func (c *Console) handleAPIKeys(w http.ResponseWriter, q *request) {
	c.renderKeys(w, q, readKeyFilter(q.URL.Query()), keyForm{}, http.StatusOK)
}

func (c *Console) renderKeys(w http.ResponseWriter, q *request, f keyFilter, form keyForm, status int) {
	body, err := f.body(time.Now())
	if err != nil {
		c.fail(w, q, "API keys", answer{Status: http.StatusBadRequest, Body: esError(http.StatusBadRequest, "dates are YYYY-MM-DD")})
		return
	}
	a := c.api(q, http.MethodPost, "/_security/_query/api_key", body)
	var res queryAnswer
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "API keys", a)
		return
	}
	me, a := c.whoami(q)
	if !a.OK() {
		c.fail(w, q, "API keys", a)
		return
	}
	d := keysData{Filter: f, Total: res.Total, First: f.Page*pageSize + 1, Last: f.Page*pageSize + len(res.APIKeys),
		Prev: -1, Next: -1, Form: form}
	for _, k := range res.APIKeys {
		row := q.can.rights(me, k)
		d.Keys = append(d.Keys, row)
		d.AnyInvalidate = d.AnyInvalidate || row.CanInvalidate
	}
	if f.Page > 0 {
		d.Prev = f.Page - 1
	}
	if d.Last < res.Total {
		d.Next = f.Page + 1
	}
	v := q.view("API keys", "api-keys")
	v.Data = d
	if !q.can.CreateKeys() {
		v.formRefused(status, form.Errors)
	}
	c.render(w, status, "apikeys", v)
}

// handleCreateAPIKey creates a key and shows its encoded value once, in
// the answer to this POST: it is in no URL and nothing keeps it.
func (c *Console) handleCreateAPIKey(w http.ResponseWriter, q *request) {
	form := keyForm{Name: q.PostFormValue("name"), Expiration: q.PostFormValue("expiration"),
		RoleDescriptors: q.PostFormValue("role_descriptors"), Metadata: q.PostFormValue("metadata"), Errors: map[string]string{}}
	body := map[string]any{"name": form.Name}
	if form.Expiration != "" {
		body["expiration"] = form.Expiration
	}
	jsonField(form.RoleDescriptors, "role_descriptors", body, form.Errors)
	jsonField(form.Metadata, "metadata", body, form.Errors)
	status := http.StatusBadRequest
	if len(form.Errors) == 0 {
		a := c.api(q, http.MethodPost, "/_security/api_key", body)
		var created struct {
			ID      string `json:"id"`
			Name    string `json:"name"`
			Encoded string `json:"encoded"`
		}
		if a.OK() && a.decode(&created) == nil {
			v := q.view("API key created", "api-keys")
			v.Data = created
			c.render(w, http.StatusOK, "apikey_created", v)
			return
		}
		form.Errors["api"], status = a.Reason(), a.Status
	}
	c.renderKeys(w, q, readKeyFilter(q.URL.Query()), form, status)
}

// jsonField puts a form's JSON text into body, or the parse error into
// errs under the field's name.
func jsonField(text, name string, body map[string]any, errs map[string]string) {
	if text == "" {
		return
	}
	var v json.RawMessage
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		errs[name] = "not valid JSON: " + err.Error()
		return
	}
	body[name] = v
}
