package authn

import (
	"bytes"
	"encoding/base64"
	"strings"
	"unsafe"
)

// Scheme is the scheme of an Authorization header.
type Scheme int

// The schemes a credential can arrive in.
const (
	NoCredential Scheme = iota
	BasicScheme
	APIKeyScheme
	BearerScheme
	UnknownScheme
)

// maxCredential bounds what the parser decodes, so a huge header costs
// nothing before it is refused.
const maxCredential = 8 << 10

// Credential is a parsed Authorization header. Secret is never logged.
type Credential struct {
	Scheme Scheme
	// For Basic: the username; for ApiKey: the key id.
	Principal string
	Secret    []byte
	// Bearer is the raw bearer value.
	Bearer string
	// Malformed is set when the scheme was recognised but the value was not.
	Malformed bool
}

// String keeps secrets out of logs and error messages.
func (c Credential) String() string { return "[redacted credential]" }

// GoString keeps secrets out of %#v output.
func (c Credential) GoString() string { return c.String() }

// ParseAuthorization parses an Authorization header value. Schemes are
// matched case-insensitively, as Elasticsearch does.
func ParseAuthorization(h string) Credential {
	if h == "" {
		return Credential{}
	}
	scheme, value, _ := strings.Cut(h, " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		user, secret, ok := decodePair(value, 0)
		if !ok {
			return Credential{Scheme: BasicScheme, Malformed: true}
		}
		return Credential{Scheme: BasicScheme, Principal: user, Secret: secret}
	case strings.EqualFold(scheme, "ApiKey"):
		id, secret, ok := decodePair(value, 1)
		if !ok {
			return Credential{Scheme: APIKeyScheme, Malformed: true}
		}
		return Credential{Scheme: APIKeyScheme, Principal: id, Secret: secret}
	case strings.EqualFold(scheme, "Bearer"):
		value = strings.TrimSpace(value)
		if value == "" || len(value) > maxCredential {
			return Credential{Scheme: BearerScheme, Malformed: true}
		}
		return Credential{Scheme: BearerScheme, Bearer: value}
	default:
		return Credential{Scheme: UnknownScheme}
	}
}

// decodePair decodes base64("left:right") and splits it at the first colon,
// which must be at index minColon or later.
func decodePair(value string, minColon int) (string, []byte, bool) {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > maxCredential {
		return "", nil, false
	}
	raw, err := base64.StdEncoding.DecodeString(value)
	if err != nil {
		return "", nil, false
	}
	i := bytes.IndexByte(raw, ':')
	if i < minColon {
		return "", nil, false
	}
	if i == 0 {
		return "", raw[1:], true
	}
	// The principal shares raw's memory (one allocation per header on the
	// hot path); raw is never written after this point.
	return unsafe.String(&raw[0], i), raw[i+1:], true
}
