package console

import "net/http"

type tokensData struct {
	Count  int
	Counts bool
	Result *invalidateTokensAnswer
}

type invalidateTokensAnswer struct {
	Invalidated int `json:"invalidated_tokens"`
	Previously  int `json:"previously_invalidated_tokens"`
	ErrorCount  int `json:"error_count"`
}

func (c *Console) handleTokens(w http.ResponseWriter, q *request) {
	c.renderTokens(w, q, nil)
}

func (c *Console) renderTokens(w http.ResponseWriter, q *request, res *invalidateTokensAnswer) {
	d := tokensData{Result: res}
	// The count is the node's own figure, shown to those the status
	// endpoint would show it to.
	if q.can.Monitor {
		d.Counts, d.Count = true, c.cfg.Status().Counts["tokens"]
	}
	v := q.view("Tokens", "tokens")
	v.Data = d
	c.render(w, http.StatusOK, "tokens", v)
}

// handleInvalidateTokens invalidates every token of a user, of a realm, or
// of a user in a realm.
func (c *Console) handleInvalidateTokens(w http.ResponseWriter, q *request) {
	body := map[string]string{}
	if u := q.PostFormValue("username"); u != "" {
		body["username"] = u
	}
	if r := q.PostFormValue("realm_name"); r != "" {
		body["realm_name"] = r
	}
	a := c.api(q, http.MethodDelete, "/_security/oauth2/token", body)
	var res invalidateTokensAnswer
	if (a.OK() || a.Status == http.StatusNotFound) && a.decode(&res) == nil {
		c.renderTokens(w, q, &res)
		return
	}
	c.fail(w, q, "Tokens", a)
}
