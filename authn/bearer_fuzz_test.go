package authn

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzDecodeToken: no panic; a decoded access token is 24 bytes and
// survives its own encoding.
func FuzzDecodeToken(f *testing.F) {
	raw := newRawTokens()
	for _, seed := range []string{
		encodeToken(raw.access), encodeToken(raw.refresh),
		encodeToken(bytes.Repeat([]byte{0xff}, rawTokenLen)) + "trailing",
		base64.StdEncoding.EncodeToString(append([]byte{1, 24}, bytes.Repeat([]byte{7}, 24)...)), // too old a version
		base64.StdEncoding.EncodeToString([]byte{0xc3, 0xe1, 0x88, 0x04, 24, 1, 2}),              // short
		"%%%", "", "AAEAAWVsYXN0aWMvZmxlZXQtc2VydmVyL3Rva2VuMTpzZWNyZXQ",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodeToken(s)
		if !ok {
			return
		}
		if len(got) != rawTokenLen {
			t.Fatalf("got %d bytes, want %d", len(got), rawTokenLen)
		}
		again, ok := decodeToken(encodeToken(got))
		if !ok || !bytes.Equal(again, got) {
			t.Fatalf("re-encoding changed the token: %x, then %x (ok %v)", got, again, ok)
		}
		if !strings.HasPrefix(tokenDocID(got), "token_") {
			t.Fatalf("document id %q", tokenDocID(got))
		}
	})
}

// FuzzParseServiceToken: no panic; a service token that parses names
// namespace/service/name and survives ServiceTokenValue; anything else
// that parses as a service token starts with the prefix's base64.
func FuzzParseServiceToken(f *testing.F) {
	for _, seed := range []string{
		ServiceTokenValue("elastic/fleet-server/token1", "6LRCHdS8SnCLCNc3GPPQlA"),
		ServiceTokenValue("elastic/kibana/t:2", "secret:with:colons"),
		ServiceTokenValue("elastic/fleet-server", "no-name"),
		ServiceTokenValue("a/b/c/d", "x"),
		ServiceTokenValue("elastic/fleet-server/token1", "") + "==",
		"AAEAA", "AAEAAWVsYXN0aWMv", "AAEAA%%%", "Bearer", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, bearer string) {
		cred, isServiceToken, valid := parseServiceToken(bearer)
		if isServiceToken && !strings.HasPrefix(bearer, "AAEAA") {
			t.Fatalf("%q taken for a service token", bearer)
		}
		if !valid {
			return
		}
		if !isServiceToken {
			t.Fatal("valid but not a service token")
		}
		if cred.qualified != cred.principal+"/"+cred.name || strings.Count(cred.qualified, "/") != 2 || strings.Contains(cred.qualified, ":") {
			t.Fatalf("qualified %q, principal %q, name %q", cred.qualified, cred.principal, cred.name)
		}
		again, isST, ok := parseServiceToken(ServiceTokenValue(cred.qualified, string(cred.secret)))
		if !isST || !ok || again.qualified != cred.qualified || !bytes.Equal(again.secret, cred.secret) {
			t.Fatalf("re-encoding changed the token: %q %q", again.qualified, cred.qualified)
		}
	})
}
