package node

import (
	"slices"
	"testing"

	"github.com/tokenstore/tokenstore/authn/audit"
)

func TestAuditSettings(t *testing.T) {
	off, err := Settings{}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if off.audit.enabled || off.audit.include != nil {
		t.Errorf("defaults: got enabled %v include %v, want off and Elasticsearch's default set", off.audit.enabled, off.audit.include)
	}
	const prefix = "xpack.security.audit.logfile.events."
	r, err := Settings{
		"xpack.security.audit.enabled":               "true",
		prefix + "include":                           "[access_denied, authentication_success]",
		prefix + "exclude":                           "access_denied",
		prefix + "ignore_filters.kibana.users":       "kibana_system,kibana*",
		prefix + "ignore_filters.kibana.realms":      "reserved",
		prefix + "ignore_filters.monitoring.actions": "cluster:monitor/*",
	}.resolve()
	if err != nil {
		t.Fatal(err)
	}
	if !r.audit.enabled || !slices.Equal(r.audit.include, []string{"access_denied", "authentication_success"}) ||
		!slices.Equal(r.audit.exclude, []string{"access_denied"}) {
		t.Errorf("got %+v", r.audit)
	}
	kibana, monitoring := r.audit.policies["kibana"], r.audit.policies["monitoring"]
	if kibana == nil || monitoring == nil {
		t.Fatalf("policies: got %v, want kibana and monitoring", r.audit.policies)
	}
	wantKibana := audit.Policy{Name: "kibana", Users: []string{"kibana_system", "kibana*"}, Realms: []string{"reserved"}}
	if kibana.Name != wantKibana.Name || !slices.Equal(kibana.Users, wantKibana.Users) || !slices.Equal(kibana.Realms, wantKibana.Realms) || kibana.Roles != nil {
		t.Errorf("kibana policy: got %+v, want %+v", *kibana, wantKibana)
	}
	if !slices.Equal(monitoring.Actions, []string{"cluster:monitor/*"}) || monitoring.Users != nil {
		t.Errorf("monitoring policy: got %+v", *monitoring)
	}

	for _, tc := range []struct {
		settings Settings
		want     string
	}{
		{Settings{prefix + "include": "access_granted,nope"}, "setting [" + prefix + "include]: invalid event name specified [nope]"},
		{Settings{prefix + "ignore_filters.p.indices_x": "a"}, "unknown setting [" + prefix + "ignore_filters.p.indices_x]"},
		{Settings{prefix + "ignore_filters.users": "a"}, "unknown setting [" + prefix + "ignore_filters.users]"},
		{Settings{"xpack.security.audit.enabled": "yes"}, "setting [xpack.security.audit.enabled] must be [true] or [false], got [yes]"},
	} {
		if _, err := tc.settings.resolve(); err == nil || err.Error() != tc.want {
			t.Errorf("%v: got %v, want %s", tc.settings, err, tc.want)
		}
	}
}
