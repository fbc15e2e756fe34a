package authn

import (
	"encoding/base64"
	"strings"
	"testing"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestParseAuthorization(t *testing.T) {
	cases := []struct {
		name, header string
		scheme       Scheme
		principal    string
		secret       string
		malformed    bool
	}{
		{"empty", "", NoCredential, "", "", false},
		{"basic", "Basic " + b64("joe:pa:ss"), BasicScheme, "joe", "pa:ss", false},
		{"basic lower-case scheme", "basic " + b64("joe:x"), BasicScheme, "joe", "x", false},
		{"basic empty password", "Basic " + b64("joe:"), BasicScheme, "joe", "", false},
		{"basic no colon", "Basic " + b64("joe"), BasicScheme, "", "", true},
		{"basic not base64", "Basic !!!", BasicScheme, "", "", true},
		{"basic empty value", "Basic ", BasicScheme, "", "", true},
		{"apikey", "ApiKey " + b64("VuaCfGcBCdbkQm-e5aOx:ui2lp2axTNmsyakw9tvNnw"), APIKeyScheme, "VuaCfGcBCdbkQm-e5aOx", "ui2lp2axTNmsyakw9tvNnw", false},
		{"apikey colon first", "ApiKey " + b64(":secret"), APIKeyScheme, "", "", true},
		{"apikey 1 MB", "ApiKey " + strings.Repeat("A", 1<<20), APIKeyScheme, "", "", true},
		{"bearer", "Bearer abc.def", BearerScheme, "", "", false},
		{"bearer empty", "Bearer   ", BearerScheme, "", "", true},
		{"unknown scheme", "Digest x", UnknownScheme, "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ParseAuthorization(tc.header)
			if c.Scheme != tc.scheme || c.Principal != tc.principal || string(c.Secret) != tc.secret || c.Malformed != tc.malformed {
				t.Errorf("got scheme %d principal %q secret %q malformed %v; want %d %q %q %v",
					c.Scheme, c.Principal, c.Secret, c.Malformed, tc.scheme, tc.principal, tc.secret, tc.malformed)
			}
		})
	}
}

func TestCredentialNeverPrintsSecret(t *testing.T) {
	c := ParseAuthorization("Basic " + b64("joe:hunter22"))
	for _, s := range []string{c.String(), c.GoString()} {
		if strings.Contains(s, "hunter22") {
			t.Fatalf("credential prints its secret: %s", s)
		}
	}
}

// FuzzParseAuthorization: no panic, and what parses as Basic re-encodes to
// the same credential.
func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{"Basic " + b64("elastic:changeme"), "ApiKey " + b64("id:secret"), "Bearer AAEAAWVsYXN0aWMv", "Basic", "ApiKey ==", ""} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		c := ParseAuthorization(h)
		if c.Scheme == BasicScheme && !c.Malformed {
			again := ParseAuthorization("Basic " + b64(c.Principal+":"+string(c.Secret)))
			if again.Principal != c.Principal || string(again.Secret) != string(c.Secret) {
				t.Fatalf("round trip changed the credential")
			}
		}
	})
}
