package audit

import "testing"

func TestParseEvents(t *testing.T) {
	tests := []struct {
		name             string
		include, exclude []string
		has, hasNot      []Event
		err              bool
	}{
		{name: "default", has: []Event{AccessDenied, AccessGranted, AnonymousAccessDenied, AuthenticationFailed, TamperedRequest, RunAsDenied, RunAsGranted, SecurityConfigChange},
			hasNot: []Event{AuthenticationSuccess, SystemAccessGranted, RealmAuthenticationFailed}},
		{name: "include success", include: []string{"authentication_success"}, has: []Event{AuthenticationSuccess}, hasNot: []Event{AccessGranted}},
		{name: "all minus granted", include: []string{"_all"}, exclude: []string{"access_granted"},
			has: []Event{AuthenticationSuccess, SystemAccessGranted, AccessDenied}, hasNot: []Event{AccessGranted}},
		{name: "exclude all", exclude: []string{"_all"}, hasNot: []Event{AccessDenied, SecurityConfigChange}},
		{name: "empty include", include: []string{}, hasNot: []Event{AccessDenied}},
		{name: "unknown include", include: []string{"access_grant"}, err: true},
		{name: "unknown exclude", exclude: []string{"nope"}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEvents(tt.include, tt.exclude)
			if (err != nil) != tt.err {
				t.Fatalf("error: got %v, want error %v", err, tt.err)
			}
			for _, e := range tt.has {
				if !got.Has(e) {
					t.Errorf("%s: got excluded, want included", e)
				}
			}
			for _, e := range tt.hasNot {
				if got.Has(e) {
					t.Errorf("%s: got included, want excluded", e)
				}
			}
		})
	}
}
