package console

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// pages are the parsed templates: each page file defines "content" and is
// parsed together with the layout.
type pages struct{ byName map[string]*template.Template }

var funcs = template.FuncMap{
	"millis": func(ms int64) string {
		if ms == 0 {
			return "—"
		}
		return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05Z")
	},
	"json": func(v any) string {
		if v == nil {
			return ""
		}
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return ""
		}
		return string(b)
	},
	"join": strings.Join,
	// seg is a name as one path segment of a link or form action:
	// html/template keeps '?', '#' and '%' of a URL's path as they are, so
	// a role named "ops?x" would otherwise link (and post) to role "ops".
	"seg": url.PathEscape,
}

func mustParsePages() *pages {
	names, err := fs.Glob(assets, "assets/page_*.html")
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("console templates missing: %v", err))
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, n := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(n, "assets/page_"), ".html")
		p.byName[name] = template.Must(template.New("layout.html").Funcs(funcs).ParseFS(assets, "assets/layout.html", n))
	}
	return p
}

// view is what every page gets: who is signed in, what they may do, the
// form token, and the page's own data.
type view struct {
	Title  string
	Nav    string
	User   string
	Can    privs
	CSRF   string
	Status int
	Error  string
	Notice string
	Data   any
}

// formRefused shows the API's refusal of a form the page does not offer
// (posted anyway) at the top of the page, where the form would have shown it.
func (v *view) formRefused(status int, errs map[string]string) {
	if reason := errs["api"]; reason != "" {
		v.Status, v.Error = status, reason
	}
}

// render writes a page; a template error is a 500 with nothing of it sent.
func (c *Console) render(w http.ResponseWriter, status int, name string, v view) {
	t := c.pages.byName[name]
	var buf bytes.Buffer
	if t == nil {
		c.log.Error("no such console page", "page", name)
		http.Error(w, "console page missing", http.StatusInternalServerError)
		return
	}
	if err := t.Execute(&buf, v); err != nil {
		c.log.Error("render console page", "page", name, "error", err)
		http.Error(w, "console page failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail renders an API answer that was not a success, with its status and
// Elasticsearch's reason, inside the page the user was on.
func (c *Console) fail(w http.ResponseWriter, q *request, title string, a answer) {
	v := q.view(title, "")
	v.Status, v.Error = a.Status, a.Reason()
	c.render(w, a.Status, "error", v)
}
