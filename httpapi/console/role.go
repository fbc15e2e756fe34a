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
	v := q.view("Role "+name, "roles")
	v.Data = roleRow{Name: name, Descriptor: indent(d), Reserved: strings.Contains(string(d), `"_reserved":true`)}
	c.render(w, http.StatusOK, "role", v)
}

// handleSaveRole creates or replaces a role from its JSON descriptor; a
// descriptor the API refuses is shown again with the API's reason.
func (c *Console) handleSaveRole(w http.ResponseWriter, q *request) {
	f := roleForm{Name: q.PostFormValue("name"), Descriptor: q.PostFormValue("descriptor"), Errors: map[string]string{}}
	var body json.RawMessage
	status := http.StatusBadRequest
	if err := json.Unmarshal([]byte(f.Descriptor), &body); err != nil {
		f.Errors["descriptor"] = "not valid JSON: " + err.Error()
	} else if a := c.api(q, http.MethodPut, "/_security/role/"+url.PathEscape(f.Name), body); !a.OK() {
		f.Errors["api"], status = a.Reason(), a.Status
	} else {
		http.Redirect(w, q.Request, Prefix+"/roles/"+url.PathEscape(f.Name), http.StatusSeeOther)
		return
	}
	c.renderRoles(w, q, f, status)
}

func (c *Console) handleDeleteRole(w http.ResponseWriter, q *request) {
	a := c.api(q, http.MethodDelete, "/_security/role/"+url.PathEscape(q.PathValue("name")), nil)
	if !a.OK() {
		c.fail(w, q, "Role", a)
		return
	}
	http.Redirect(w, q.Request, Prefix+"/roles", http.StatusSeeOther)
}
