package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

type user struct {
	Username string          `json:"username"`
	Roles    []string        `json:"roles"`
	FullName string          `json:"full_name"`
	Email    string          `json:"email"`
	Metadata json.RawMessage `json:"metadata"`
	Enabled  bool            `json:"enabled"`
}

// Reserved says the user is built in, which the API will not change.
func (u user) Reserved() bool { return strings.Contains(string(u.Metadata), `"_reserved":true`) }

type userForm struct {
	user
	Roles, Metadata string
	Errors          map[string]string
}

func (c *Console) handleUsers(w http.ResponseWriter, q *request) {
	c.renderUsers(w, q, userForm{}, http.StatusOK)
}

func (c *Console) renderUsers(w http.ResponseWriter, q *request, form userForm, status int) {
	a := c.api(q, http.MethodGet, "/_security/user", nil)
	var res map[string]user
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Users", a)
		return
	}
	var users []user
	for _, u := range res {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Username < users[j].Username })
	v := q.view("Users", "users")
	v.Data = struct {
		Users []user
		Form  userForm
	}{users, form}
	c.render(w, status, "users", v)
}

func (c *Console) handleUser(w http.ResponseWriter, q *request) {
	name := q.PathValue("name")
	a := c.api(q, http.MethodGet, "/_security/user/"+url.PathEscape(name), nil)
	var res map[string]user
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "User", a)
		return
	}
	u := res[name]
	c.renderUser(w, q, userForm{user: u, Roles: strings.Join(u.Roles, ", "), Metadata: indent(u.Metadata)}, http.StatusOK)
}

func (c *Console) renderUser(w http.ResponseWriter, q *request, form userForm, status int) {
	v := q.view("User "+form.Username, "users")
	v.Data = form
	c.render(w, status, "user", v)
}

// readUserForm reads the create and edit form into the put user body.
func readUserForm(q *request, name string) (userForm, map[string]any) {
	f := userForm{user: user{Username: name, FullName: q.PostFormValue("full_name"), Email: q.PostFormValue("email")},
		Roles: q.PostFormValue("roles"), Metadata: q.PostFormValue("metadata"), Errors: map[string]string{}}
	roles := []string{}
	for r := range strings.SplitSeq(f.Roles, ",") {
		if r = strings.TrimSpace(r); r != "" {
			roles = append(roles, r)
		}
	}
	body := map[string]any{"roles": roles, "full_name": f.FullName, "email": f.Email}
	if p := q.PostFormValue("password"); p != "" {
		body["password"] = p
	}
	jsonField(f.Metadata, "metadata", body, f.Errors)
	return f, body
}

// handleSaveUser creates a user from the list page's form.
func (c *Console) handleSaveUser(w http.ResponseWriter, q *request) {
	name := q.PostFormValue("username")
	f, body := readUserForm(q, name)
	status := http.StatusBadRequest
	if len(f.Errors) == 0 {
		a := c.api(q, http.MethodPost, "/_security/user/"+url.PathEscape(name), body)
		if a.OK() {
			http.Redirect(w, q.Request, Prefix+"/users/"+url.PathEscape(name), http.StatusSeeOther)
			return
		}
		f.Errors["api"], status = a.Reason(), a.Status
	}
	c.renderUsers(w, q, f, status)
}

// handleUserAction is the edit page's buttons: save, enable, disable,
// password, delete.
func (c *Console) handleUserAction(w http.ResponseWriter, q *request) {
	name := q.PathValue("name")
	path := "/_security/user/" + url.PathEscape(name)
	var a answer
	switch q.PathValue("action") {
	case "save":
		f, body := readUserForm(q, name)
		if len(f.Errors) > 0 {
			c.renderUser(w, q, f, http.StatusBadRequest)
			return
		}
		if a = c.api(q, http.MethodPut, path, body); !a.OK() {
			f.Errors["api"] = a.Reason()
			c.renderUser(w, q, f, a.Status)
			return
		}
	case "enable", "disable":
		a = c.api(q, http.MethodPut, path+"/_"+q.PathValue("action"), nil)
	case "password":
		a = c.api(q, http.MethodPost, path+"/_password", map[string]string{"password": q.PostFormValue("password")})
	case "delete":
		if a = c.api(q, http.MethodDelete, path, nil); a.OK() {
			http.Redirect(w, q.Request, Prefix+"/users", http.StatusSeeOther)
			return
		}
	default:
		a = answer{Status: http.StatusNotFound, Body: esError(http.StatusNotFound, "no such user action")}
	}
	if !a.OK() {
		c.fail(w, q, "User "+name, a)
		return
	}
	http.Redirect(w, q.Request, Prefix+"/users/"+url.PathEscape(name), http.StatusSeeOther)
}
