package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

type roleRow struct {
	Name       string
	Descriptor string
	Reserved   bool
	// Errors are a refused save's, shown on the role's own page.
	Errors map[string]string
}

type roleForm struct {
	Name, Descriptor string
	Errors           map[string]string
}

func (c *Console) handleRoles(w http.ResponseWriter, q *request) {
	c.renderRoles(w, q, roleForm{Descriptor: "{\n  \"cluster\": [],\n  \"indices\": []\n}"}, http.StatusOK)
}

func (c *Console) renderRoles(w http.ResponseWriter, q *request, form roleForm, status int) {
	a := c.api(q, http.MethodGet, "/_security/role", nil)
	var res map[string]json.RawMessage
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Roles", a)
		return
	}
	var rows []roleRow
	for name, d := range res {
		rows = append(rows, roleRow{Name: name, Reserved: strings.Contains(string(d), `"_reserved":true`)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	v := q.view("Roles", "roles")
	if !q.can.ManageSecurity {
		v.formRefused(status, form.Errors)
	}
	v.Data = struct {
		Roles []roleRow
		Form  roleForm
	}{rows, form}
	c.render(w, status, "roles", v)
}

func (c *Console) handleRole(w http.ResponseWriter, q *request) {
	name := q.PathValue("name")
	a := c.api(q, http.MethodGet, "/_security/role/"+url.PathEscape(name), nil)
	var res map[string]json.RawMessage
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Role", a)
		return
	}
	d := res[name]
	c.renderRole(w, q, roleRow{Name: name, Descriptor: indent(d), Reserved: strings.Contains(string(d), `"_reserved":true`)}, http.StatusOK)
}

func (c *Console) renderRole(w http.ResponseWriter, q *request, r roleRow, status int) {
	v := q.view("Role "+r.Name, "roles")
	v.Data = r
	if !q.can.ManageSecurity || r.Reserved {
		v.formRefused(status, r.Errors)
	}
	c.render(w, status, "role", v)
}

// saveRole creates or replaces a role from its JSON descriptor; ok false
// leaves the JSON error or the API's reason in f.Errors.
func (c *Console) saveRole(q *request, f *roleForm) (status int, ok bool) {
	var body json.RawMessage
	if err := json.Unmarshal([]byte(f.Descriptor), &body); err != nil {
		f.Errors["descriptor"] = "not valid JSON: " + err.Error()
		return http.StatusBadRequest, false
	}
	if a := c.api(q, http.MethodPut, "/_security/role/"+url.PathEscape(f.Name), body); !a.OK() {
		f.Errors["api"] = a.Reason()
		return a.Status, false
	}
	return http.StatusOK, true
}

// handleSaveRole is the roles page's form; a descriptor the API refuses is
// shown again there with the API's reason.
func (c *Console) handleSaveRole(w http.ResponseWriter, q *request) {
	f := roleForm{Name: q.PostFormValue("name"), Descriptor: q.PostFormValue("descriptor"), Errors: map[string]string{}}
	if status, ok := c.saveRole(q, &f); !ok {
		c.renderRoles(w, q, f, status)
		return
	}
	http.Redirect(w, q.Request, Prefix+"/roles/"+url.PathEscape(f.Name), http.StatusSeeOther)
}

// handleUpdateRole is a role's own page's form: a refusal is shown on that
// page, with the descriptor as it was sent.
func (c *Console) handleUpdateRole(w http.ResponseWriter, q *request) {
	f := roleForm{Name: q.PathValue("name"), Descriptor: q.PostFormValue("descriptor"), Errors: map[string]string{}}
	if status, ok := c.saveRole(q, &f); !ok {
		c.renderRole(w, q, roleRow{Name: f.Name, Descriptor: f.Descriptor, Errors: f.Errors}, status)
		return
	}
	http.Redirect(w, q.Request, Prefix+"/roles/"+url.PathEscape(f.Name), http.StatusSeeOther)
}

func (c *Console) handleDeleteRole(w http.ResponseWriter, q *request) {
	a := c.api(q, http.MethodDelete, "/_security/role/"+url.PathEscape(q.PathValue("name")), nil)
	if !a.OK() {
		c.fail(w, q, "Role", a)
		return
	}
	http.Redirect(w, q.Request, Prefix+"/roles", http.StatusSeeOther)
}
