package authn

import (
	"strings"
	"unicode/utf16"
)

// maxAPIKeyNameLength is Elasticsearch's bound, in Java chars (UTF-16 code
// units), which is how String.length counts.
const maxAPIKeyNameLength = 256

// apiKeyNameProblems are Elasticsearch's validation messages for an API key
// name (CreateApiKeyRequest.validate), every one that applies, in its order.
func apiKeyNameProblems(name string) []string {
	if name == "" {
		return []string{"api key name is required"}
	}
	var msgs []string
	if len(utf16.Encode([]rune(name))) > maxAPIKeyNameLength {
		msgs = append(msgs, "api key name may not be more than 256 characters long")
	}
	if javaTrim(name) != name {
		msgs = append(msgs, "api key name may not begin or end with whitespace")
	}
	if strings.HasPrefix(name, "_") {
		msgs = append(msgs, "api key name may not begin with an underscore")
	}
	return msgs
}

// javaTrim is Java's String.trim: it drops every char up to U+0020 at both
// ends (NUL and the other control characters included), and nothing else
// (not U+00A0 nor U+3000, which unicode.IsSpace would also drop).
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}
