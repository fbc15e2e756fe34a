package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
)

type serviceAccountRow struct {
	Name, Namespace, Service string
	RoleDescriptor           string
}

func (c *Console) handleServiceAccounts(w http.ResponseWriter, q *request) {
	a := c.api(q, http.MethodGet, "/_security/service", nil)
	var res map[string]struct {
		RoleDescriptor json.RawMessage `json:"role_descriptor"`
	}
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Service accounts", a)
		return
	}
	var rows []serviceAccountRow
	for name, acc := range res {
		ns, svc := splitAccount(name)
		rows = append(rows, serviceAccountRow{Name: name, Namespace: ns, Service: svc, RoleDescriptor: indent(acc.RoleDescriptor)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Name < rows[j].Name })
	v := q.view("Service accounts", "service-accounts")
	v.Data = rows
	c.render(w, http.StatusOK, "service_accounts", v)
}

func splitAccount(name string) (string, string) {
	for i := range len(name) {
		if name[i] == '/' {
			return name[:i], name[i+1:]
		}
	}
	return name, ""
}

type fileToken struct {
	Name  string
	Nodes []string
}

type serviceAccountData struct {
	Account, Namespace, Service string
	Count                       int
	IndexTokens                 []string
	FileTokens                  []fileToken
	// NodesFailed of NodesTotal members did not answer: their file tokens
	// are missing from FileTokens.
	NodesTotal, NodesFailed int
	Created                 *struct{ Name, Value string }
}

func accountPath(ns, svc string) string {
	return "/_security/service/" + url.PathEscape(ns) + "/" + url.PathEscape(svc)
}

func (c *Console) handleServiceAccount(w http.ResponseWriter, q *request) {
	c.renderServiceAccount(w, q, nil)
}

func (c *Console) renderServiceAccount(w http.ResponseWriter, q *request, created *struct{ Name, Value string }) {
	ns, svc := q.PathValue("ns"), q.PathValue("svc")
	a := c.api(q, http.MethodGet, accountPath(ns, svc)+"/credential", nil)
	var res struct {
		Count  int                        `json:"count"`
		Tokens map[string]json.RawMessage `json:"tokens"`
		Nodes  struct {
			Nodes struct {
				Total  int `json:"total"`
				Failed int `json:"failed"`
			} `json:"_nodes"`
			FileTokens map[string]struct {
				Nodes []string `json:"nodes"`
			} `json:"file_tokens"`
		} `json:"nodes_credentials"`
	}
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Service account", a)
		return
	}
	d := serviceAccountData{Account: ns + "/" + svc, Namespace: ns, Service: svc, Count: res.Count, Created: created,
		NodesTotal: res.Nodes.Nodes.Total, NodesFailed: res.Nodes.Nodes.Failed}
	for name := range res.Tokens {
		d.IndexTokens = append(d.IndexTokens, name)
	}
	sort.Strings(d.IndexTokens)
	for name, ft := range res.Nodes.FileTokens {
		d.FileTokens = append(d.FileTokens, fileToken{Name: name, Nodes: ft.Nodes})
	}
	sort.Slice(d.FileTokens, func(i, j int) bool { return d.FileTokens[i].Name < d.FileTokens[j].Name })
	v := q.view("Service account "+d.Account, "service-accounts")
	v.Data = d
	c.render(w, http.StatusOK, "service_account", v)
}

// handleCreateServiceToken creates an index token; its value is shown
// once, in the answer to this POST.
func (c *Console) handleCreateServiceToken(w http.ResponseWriter, q *request) {
	path := accountPath(q.PathValue("ns"), q.PathValue("svc")) + "/credential/token"
	if name := q.PostFormValue("name"); name != "" {
		path += "/" + url.PathEscape(name)
	}
	a := c.api(q, http.MethodPost, path, nil)
	var res struct {
		Token struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"token"`
	}
	if !a.OK() || a.decode(&res) != nil {
		c.fail(w, q, "Service account", a)
		return
	}
	c.renderServiceAccount(w, q, &struct{ Name, Value string }{res.Token.Name, res.Token.Value})
}

func (c *Console) handleDeleteServiceToken(w http.ResponseWriter, q *request) {
	ns, svc := q.PathValue("ns"), q.PathValue("svc")
	a := c.api(q, http.MethodDelete, accountPath(ns, svc)+"/credential/token/"+url.PathEscape(q.PathValue("name")), nil)
	if !a.OK() {
		c.fail(w, q, "Service account", a)
		return
	}
	http.Redirect(w, q.Request, Prefix+"/service-accounts/"+url.PathEscape(ns)+"/"+url.PathEscape(svc), http.StatusSeeOther)
}
