package audit

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// Record is one audit event. Its fields are Elasticsearch's, written in
// the order of Elasticsearch's audit layout and left out when empty.
type Record struct {
	Time                         time.Time
	ClusterUUID, NodeID          string
	EventType, EventAction       string
	AuthenticationType, UserName string
	UserRealm                    string
	// RunAsName and RunAsRealm are the run-as user and its lookup realm;
	// UserName is then who authenticated.
	RunAsName, RunAsRealm string
	// Roles is written when not nil, an empty list as [].
	Roles                     []string
	APIKeyID, APIKeyName      string
	TokenName, TokenType      string
	OriginType, OriginAddress string
	Realm                     string
	URLPath, URLQuery, Method string
	RequestID, Action         string
	OpaqueID, XForwardedFor   string
	// Change is the security_config_change object under ChangeField
	// (put, delete, change, create or invalidate), as JSON.
	ChangeField string
	Change      json.RawMessage
}

// The values of event.type and origin.type.
const (
	typeREST         = "rest"
	typeTransport    = "transport"
	typeConfigChange = "security_config_change"
	originLocal      = "local_node"
)

// timestampLayout is Elasticsearch's %d{yyyy-MM-dd'T'HH:mm:ss,SSSZ}.
const timestampLayout = "2006-01-02T15:04:05,000-0700"

// AppendJSON appends the record as one line: the audit layout's
// `{"type":"audit", "timestamp":..., ...}` with ", " between fields.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"audit", "timestamp":"`...)
	b = r.Time.AppendFormat(b, timestampLayout)
	b = append(b, '"')
	for _, f := range []struct{ name, v string }{
		{"cluster.uuid", r.ClusterUUID}, {"node.id", r.NodeID},
		{"event.type", r.EventType}, {"event.action", r.EventAction},
		{"authentication.type", r.AuthenticationType}, {"user.name", r.UserName}, {"user.run_as.name", r.RunAsName},
		{"user.realm", r.UserRealm}, {"user.run_as.realm", r.RunAsRealm},
	} {
		b = appendField(b, f.name, f.v)
	}
	if r.Roles != nil {
		b = append(b, `, "user.roles":[`...)
		for i, role := range r.Roles {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, role)
		}
		b = append(b, ']')
	}
	for _, f := range []struct{ name, v string }{
		{"apikey.id", r.APIKeyID}, {"apikey.name", r.APIKeyName},
		{"authentication.token.name", r.TokenName}, {"authentication.token.type", r.TokenType},
		{"origin.type", r.OriginType}, {"origin.address", r.OriginAddress}, {"realm", r.Realm},
		{"url.path", r.URLPath}, {"url.query", r.URLQuery}, {"request.method", r.Method},
		{"request.id", r.RequestID}, {"action", r.Action},
		{"opaque_id", r.OpaqueID}, {"x_forwarded_for", r.XForwardedFor},
	} {
		b = appendField(b, f.name, f.v)
	}
	if r.ChangeField != "" && len(r.Change) > 0 {
		b = append(b, `, "`...)
		b = append(b, r.ChangeField...)
		b = append(b, `":`...)
		b = append(b, r.Change...)
	}
	return append(b, "}\n"...)
}

func appendField(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	b = append(b, `, "`...)
	b = append(b, name...)
	b = append(b, `":`...)
	return appendString(b, v)
}

// appendString writes s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced, everything else as is.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c < 0x20 || c == 0x7f:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}
