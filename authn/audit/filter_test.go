package audit

import "testing"

func TestIgnoreFilters(t *testing.T) {
	tests := []struct {
		name   string
		policy Policy
		event  subject
		ignore bool
	}{
		{"user wildcard", Policy{Users: []string{"kibana*"}}, subject{user: "kibana_system", realm: "reserved"}, true},
		{"user other", Policy{Users: []string{"kibana*"}}, subject{user: "elastic", realm: "reserved"}, false},
		{"question mark", Policy{Users: []string{"user?"}}, subject{user: "user1"}, true},
		{"question mark is one character", Policy{Users: []string{"user?"}}, subject{user: "user12"}, false},
		{"regex", Policy{Users: []string{"/svc-[0-9]+/"}}, subject{user: "svc-42"}, true},
		{"regex anchored", Policy{Users: []string{"/svc-[0-9]+/"}}, subject{user: "xsvc-42"}, false},
		{"fields are ANDed", Policy{Users: []string{"bob"}, Realms: []string{"default_native"}}, subject{user: "bob", realm: "reserved"}, false},
		{"action", Policy{Actions: []string{"cluster:monitor/*"}}, subject{user: "bob", action: "cluster:monitor/health"}, true},
		{"action other", Policy{Actions: []string{"cluster:monitor/*"}}, subject{user: "bob", action: "cluster:admin/xpack/security/user/put"}, false},
		{"every role must match", Policy{Roles: []string{"viewer", "monitor*"}}, subject{user: "bob", roles: []string{"viewer", "monitoring_user"}}, true},
		{"one role outside", Policy{Roles: []string{"viewer"}}, subject{user: "bob", roles: []string{"viewer", "superuser"}}, false},
		{"no roles match only an empty pattern or *", Policy{Roles: []string{"viewer"}}, subject{user: "bob"}, false},
		{"empty pattern matches a missing user", Policy{Users: []string{""}}, subject{}, true},
		{"empty pattern does not match a user", Policy{Users: []string{""}}, subject{user: "bob"}, false},
		{"escaped star is a star", Policy{Users: []string{`a\*`}}, subject{user: "a*"}, true},
		{"escaped star is not a wildcard", Policy{Users: []string{`a\*`}}, subject{user: "ab"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs, err := compileFilters([]Policy{tt.policy})
			if err != nil {
				t.Fatal(err)
			}
			if got := fs.ignores(tt.event); got != tt.ignore {
				t.Errorf("got ignore %v, want %v", got, tt.ignore)
			}
		})
	}
	if _, err := compileFilters([]Policy{{Name: "bad", Users: []string{"/([/"}}}); err == nil {
		t.Error("an invalid regular expression: got no error")
	}
}
