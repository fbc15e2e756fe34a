package authn

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/tokenstore/tokenstore/authn/authz"
	"github.com/tokenstore/tokenstore/fsm"
)

// ServiceAccountRealm is the realm service account tokens authenticate in.
var ServiceAccountRealm = Realm{Name: "_service_account", Type: "_service_account"}

// ServiceAccountNames lists the built-in accounts, sorted.
func ServiceAccountNames() []string { return authz.ServiceAccountNames() }

// ServiceAccountDescriptor returns an account's fixed role descriptor.
func ServiceAccountDescriptor(principal string) (fsm.RoleDescriptor, bool) {
	return authz.ServiceAccount(principal)
}

// ValidServiceTokenName reports whether a token name follows Elasticsearch's
// rule ^[a-zA-Z0-9-][a-zA-Z0-9_-]{0,255}$ (checked by hand: it runs on every
// service token authentication).
func ValidServiceTokenName(name string) bool {
	if len(name) < 1 || len(name) > 256 || name[0] == '_' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func invalidTokenName(name string) *Error {
	return validation("invalid service token name [" + name + "]. service account token name must have at least 1 character and at most 256 characters that are alphanumeric (A-Z, a-z, 0-9) or hyphen (-) or underscore (_). It must not begin with an underscore (_).")
}

// serviceTokenPrefix is magic 0, token type 1, reserved 0, format version 1.
var serviceTokenPrefix = []byte{0, 1, 0, 1}

// minServiceTokenSecret is the shortest secret looked up at all.
const minServiceTokenSecret = 10

// ServiceTokenValue builds the bearer value of a service token.
func ServiceTokenValue(qualified, secret string) string {
	raw := append(append(bytes.Clone(serviceTokenPrefix), qualified...), ':')
	return base64.RawStdEncoding.EncodeToString(append(raw, secret...))
}

// serviceTokenCredential is a parsed service token bearer value.
type serviceTokenCredential struct {
	qualified, principal, name string
	secret                     []byte
}

// parseServiceToken reports whether a bearer value is a service token (the
// 4-byte prefix) and splits it; ok is false for other bearer values.
func parseServiceToken(bearer string) (cred serviceTokenCredential, isServiceToken, valid bool) {
	// Every service token starts with the base64 of its 4-byte prefix; other
	// bearer values (access tokens) are told apart without decoding them.
	if !strings.HasPrefix(bearer, "AAEAA") {
		return cred, false, false
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(bearer, "="))
	if err != nil || !bytes.HasPrefix(raw, serviceTokenPrefix) {
		return cred, false, false
	}
	q, secret, ok := bytes.Cut(raw[len(serviceTokenPrefix):], []byte{':'})
	qualified := string(q)
	slash := strings.LastIndexByte(qualified, '/')
	if !ok || slash < 0 || strings.Count(qualified, "/") != 2 {
		return cred, true, false
	}
	return serviceTokenCredential{qualified: qualified, principal: qualified[:slash], name: qualified[slash+1:], secret: secret}, true, true
}

func serviceAccountAuthentication(principal, tokenName, source string) *Authentication {
	full := "Service account - " + principal
	return &Authentication{Username: principal, Roles: []string{}, FullName: &full,
		Metadata: json.RawMessage(`{"_elastic_service_account":true}`), Enabled: true, Realm: ServiceAccountRealm,
		Type: "token", Token: &TokenRef{Name: tokenName, Type: "_service_account_" + source}}
}
