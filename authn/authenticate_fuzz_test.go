package authn

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
)

// FuzzAuthenticateHeader runs whole headers and built credentials through
// Authenticate over a state with a user, API keys and nothing else. No
// panic; every refusal is a 401 *Error; and a refusal's text is the same
// whatever the secret was, so it cannot carry the secret.
func FuzzAuthenticateHeader(f *testing.F) {
	for _, s := range []struct {
		scheme                   uint8
		principal, secret, other string
	}{
		{0, "joe", joePassword, "wrong-password"},
		{0, "nobody", "a", "b"},
		{0, "", "", "x"},
		{1, "live", keySecret, "other"},
		{1, "dead", deadSecret, "x"},
		{1, "nope", "s", "t"},
		{2, "elastic/fleet-server/t1", "0123456789abcdef", "fedcba9876543210"},
		{2, "elastic/fleet-server", "short", "x"},
		{3, "Basic " + b64("joe:x"), "", ""},
		{3, "Bearer " + encodeToken(newRawTokens().access), "", ""},
		{3, "ApiKey %%%", "", ""},
	} {
		f.Add(s.scheme, s.principal, s.secret, s.other)
	}
	r := newThrottleRig(f, ThrottleConfig{Disabled: true}, false)
	f.Fuzz(func(t *testing.T, scheme uint8, principal, secret, other string) {
		auth := func(header string) (string, bool) {
			_, err := r.svc.Authenticate(context.Background(), header, "/_security/_authenticate", "192.0.2.1:9")
			if err == nil {
				return "", true
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != Unauthenticated || e.Type != "security_exception" || e.Reason == "" {
				t.Fatalf("refusal is not a 401 security_exception: %#v", err)
			}
			return e.Reason + "|" + e.Additional, false
		}
		var build func(secret string) string
		switch scheme % 4 {
		case 0:
			build = func(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(principal+":"+s)) }
		case 1:
			build = func(s string) string { return "ApiKey " + base64.StdEncoding.EncodeToString([]byte(principal+":"+s)) }
		case 2:
			build = func(s string) string { return "Bearer " + ServiceTokenValue(principal, s) }
		default:
			auth(principal)
			return
		}
		msg1, ok1 := auth(build(secret))
		msg2, ok2 := auth(build(other))
		// An invalidated key's right secret earns a truer message.
		genuine := scheme%4 == 1 && (r.svc.apiKeySecretRight(principal, []byte(secret)) || r.svc.apiKeySecretRight(principal, []byte(other)))
		if !ok1 && !ok2 && !genuine && msg1 != msg2 {
			t.Fatalf("the refusal depends on the secret:\n%s\n%s", msg1, msg2)
		}
	})
}
