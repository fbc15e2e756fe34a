package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn"
)

// bodyTargets are the request types handlers decode bodies into.
var bodyTargets = []func() any{
	func() any { return new(authn.PutUserRequest) },
	func() any { return new(createAPIKeyRequest) },
	func() any { return new(grantAPIKeyRequest) },
	func() any { return new(invalidateAPIKeysRequest) },
	func() any { return new(updateAPIKeyRequest) },
	func() any { return new(authn.APIKeyQueryRequest) },
	func() any { return new(changePasswordRequest) },
	func() any { return new(authn.HasPrivilegesRequest) },
	func() any { return new(roleRequest) },
	func() any { return new(authn.GetTokenRequest) },
	func() any { return new(authn.InvalidateTokensRequest) },
	func() any { return new(map[string]map[string]privilegeRequest) },
}

// bodyCanary is the password every fuzzed body carries: no error may show it.
const bodyCanary = "Canary-Pass-7f3a91"

// FuzzDecodeBody wraps a password between fuzzed JSON before and after it
// and decodes the result strictly into each request type. No panic; every
// error is a 400 or 413 Elasticsearch error body with a type and a reason;
// and no reason shows the password.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []struct {
		target        uint8
		before, after string
	}{
		{0, `{"roles":["a"],`, `}`},
		{0, `{"roles":[],"metadata":{"a":1},`, `,"password":"again"}`},
		{0, `{"roles":"admin",`, `}`},
		{0, `{"roles":[],"foo":1,`, `}`},
		{0, `{`, `,"enabled":"yes"}`},
		{1, `{"name":"k","role_descriptors":{"r":{"cluster":["all"],`, `}}}`},
		{2, `{"grant_type":"password","username":"joe",`, `,"api_key":{"name":"k"}}`},
		{6, `{`, `}`},
		{8, `{"cluster":["monitor"],"indices":[{"names":["*"],"privileges":["read"],`, `}]}`},
		{9, `{"grant_type":"password","username":"joe",`, `}`},
		{11, `{"app":{"read":{"actions":["data:read/*"],`, `}}}`},
		{5, `{"query":{"bool":{"must":[{"term":{"name":`, `}}]}}}`},
		{0, "{\"roles\":[],\"full_name\":\"\xff\xfe\",", `}`},
		{0, strings.Repeat("[", 20000), ``},
		{0, ``, ``},
	} {
		f.Add(s.target, s.before, s.after)
	}
	srv := &Server{log: hclog.NewNullLogger()}
	f.Fuzz(func(t *testing.T, target uint8, before, after string) {
		body := before + `"password":"` + bodyCanary + `"` + after
		r := httptest.NewRequest(http.MethodPut, "/_security/user/joe", strings.NewReader(body))
		err := decodeBody(r, bodyTargets[int(target)%len(bodyTargets)](), true)
		if err == nil {
			return
		}
		var he *httpError
		if !errors.As(err, &he) || (he.status != 400 && he.status != 413) || he.typ == "" || he.reason == "" {
			t.Fatalf("not a 400/413 error of the HTTP layer: %#v", err)
		}
		w := httptest.NewRecorder()
		srv.writeError(w, r, err)
		var got struct {
			Error struct {
				RootCause []map[string]any `json:"root_cause"`
				Type      string           `json:"type"`
				Reason    string           `json:"reason"`
			} `json:"error"`
			Status int `json:"status"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || got.Status != w.Code || got.Status != he.status ||
			got.Error.Type != he.typ || got.Error.Reason != he.reason || len(got.Error.RootCause) != 1 {
			t.Fatalf("not an Elasticsearch error body (%v): %d %s", err, w.Code, w.Body)
		}
		if !strings.Contains(before+after, bodyCanary) && bytes.Contains(w.Body.Bytes(), []byte(bodyCanary)) {
			t.Fatalf("the error shows the password: %s", w.Body)
		}
	})
}
