package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/granttype"

	"github.com/tokenstore/tokenstore/fsm"
	"github.com/tokenstore/tokenstore/testcluster"
)

// profileFixture is a three-node cluster with a user and the official
// client round-robin over every node.
type profileFixture struct {
	c   *testcluster.Cluster
	es  *elasticsearch.TypedClient
	uid string
}

func newProfileFixture(t *testing.T) profileFixture {
	c := testcluster.New(t, 3)
	if r := c.Do(0, http.MethodPut, "/_security/role/watcher", testcluster.Elastic, map[string]any{"cluster": []string{"monitor", "manage_own_api_key"}}); r.Status != 200 {
		t.Fatalf("put role: %d %s", r.Status, r.Body)
	}
	if r := c.Do(1, http.MethodPut, "/_security/user/jacknich", testcluster.Elastic, map[string]any{
		"password": "l0ng-n0t-e4sy", "roles": []string{"watcher"}, "full_name": "Jack Nicholson", "email": "jacknich@example.com",
	}); r.Status != 200 {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	urls := []string{c.URL(0), c.URL(1), c.URL(2)}
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: urls, Username: "elastic", Password: testcluster.ElasticPassword})
	if err != nil {
		t.Fatal(err)
	}
	// The uid as Elasticsearch derives it, computed here independently.
	sum := sha256.Sum256([]byte("jacknich"))
	return profileFixture{c: c, es: es, uid: "u_" + base64.RawURLEncoding.EncodeToString(sum[:]) + "_0"}
}

// onEveryNode runs a request on each node and hands over its JSON answer.
func (f profileFixture) onEveryNode(t *testing.T, method, path string, body any, check func(node int, status int, v map[string]any)) {
	t.Helper()
	for i := 0; i < f.c.Len(); i++ {
		r := f.c.Do(i, method, path, testcluster.Elastic, body)
		var v map[string]any
		json.Unmarshal(r.Body, &v)
		check(i, r.Status, v)
	}
}

// Issue 14 item 6, acceptance 4: a profile activated on one node is found
// by _suggest and GET on the others, its data updates conditionally, it
// survives a backup's restore, and disabled it is disabled everywhere.
func TestUserProfilesAcrossNodes(t *testing.T) {
	f := newProfileFixture(t)
	ctx := context.Background()
	act, err := f.es.Security.ActivateUserProfile().GrantType(granttype.Password).Username("jacknich").Password("l0ng-n0t-e4sy").Do(ctx)
	if err != nil {
		t.Fatalf("activate: %v", err)
	}
	if act.Uid != f.uid || act.User.Username != "jacknich" || act.User.FullName == nil || *act.User.FullName != "Jack Nicholson" ||
		act.Enabled == nil || !*act.Enabled || act.LastSynchronized == 0 || len(act.User.Roles) != 1 || act.Doc_.PrimaryTerm_ != 1 {
		t.Fatalf("activate: %+v", act)
	}
	f.onEveryNode(t, http.MethodGet, "/_security/profile/"+f.uid, nil, func(i, status int, v map[string]any) {
		p := v["profiles"].([]any)
		if status != 200 || len(p) != 1 || p[0].(map[string]any)["uid"] != f.uid {
			t.Fatalf("node %d: get: %d %v", i, status, v)
		}
	})
	f.checkProfileUIDs(t)
	f.onEveryNode(t, http.MethodPost, "/_security/profile/_suggest", map[string]any{"name": "nich"}, func(i, status int, v map[string]any) {
		if status != 200 || v["total"].(map[string]any)["value"] != 1.0 {
			t.Fatalf("node %d: suggest: %d %v", i, status, v)
		}
	})
	f.checkProfileData(t, act.Doc_.SeqNo_)
	f.checkProfileSurvivesRestore(t)
	f.checkProfileDisabledEverywhere(t)
}

// checkProfileUIDs: with_profile_uid on get user and get/query API keys.
func (f profileFixture) checkProfileUIDs(t *testing.T) {
	f.onEveryNode(t, http.MethodGet, "/_security/user/jacknich,elastic?with_profile_uid=true", nil, func(i, status int, v map[string]any) {
		jack, elastic := v["jacknich"].(map[string]any), v["elastic"].(map[string]any)
		if status != 200 || jack["profile_uid"] != f.uid || elastic["profile_uid"] != nil {
			t.Fatalf("node %d: get user with_profile_uid: %d %v", i, status, v)
		}
	})
	if r := f.c.Do(0, http.MethodGet, "/_security/user/jacknich", testcluster.Elastic, nil); strings.Contains(string(r.Body), "profile_uid") {
		t.Fatalf("profile_uid without with_profile_uid: %s", r.Body)
	}
	f.checkQueryUserProfileUIDs(t)
	jack := testcluster.Basic("jacknich", "l0ng-n0t-e4sy")
	if r := f.c.Do(2, http.MethodPost, "/_security/api_key", jack, map[string]any{"name": "jacks"}); r.Status != 200 {
		t.Fatalf("create key: %d %s", r.Status, r.Body)
	}
	for _, path := range []string{"/_security/api_key?username=jacknich&with_profile_uid=true", "/_security/_query/api_key?with_profile_uid=true"} {
		method := http.MethodGet
		if strings.Contains(path, "_query") {
			method = http.MethodPost
		}
		f.onEveryNode(t, method, path, nil, func(i, status int, v map[string]any) {
			keys := v["api_keys"].([]any)
			if status != 200 || len(keys) != 1 || keys[0].(map[string]any)["profile_uid"] != f.uid {
				t.Fatalf("node %d: %s: %d %v", i, path, status, v)
			}
		})
	}
}

// checkQueryUserProfileUIDs: with_profile_uid on query user, which adds
// the uid of a user with a profile only, and only when asked.
func (f profileFixture) checkQueryUserProfileUIDs(t *testing.T) {
	// Query user reads native users only: a second one, without a profile.
	if r := f.c.Do(0, http.MethodPut, "/_security/user/annie", testcluster.Elastic, map[string]any{"password": "l0ng-n0t-e4sy", "roles": []string{"watcher"}}); r.Status != 200 {
		t.Fatalf("put user: %d %s", r.Status, r.Body)
	}
	query := map[string]any{"query": map[string]any{"terms": map[string]any{"username": []string{"jacknich", "annie"}}}, "sort": []string{"username"}}
	f.onEveryNode(t, http.MethodPost, "/_security/_query/user?with_profile_uid=true", query, func(i, status int, v map[string]any) {
		users, _ := v["users"].([]any)
		if status != 200 || len(users) != 2 {
			t.Fatalf("node %d: query user with_profile_uid: %d %v", i, status, v)
		}
		annie, jack := users[0].(map[string]any), users[1].(map[string]any)
		if jack["username"] != "jacknich" || jack["profile_uid"] != f.uid || annie["profile_uid"] != nil {
			t.Fatalf("node %d: query user with_profile_uid: %v", i, v)
		}
	})
	if r := f.c.Do(1, http.MethodPost, "/_security/_query/user", testcluster.Elastic, query); r.Status != 200 || strings.Contains(string(r.Body), "profile_uid") {
		t.Fatalf("query user without with_profile_uid: %d %s", r.Status, r.Body)
	}
}

// checkProfileData: conditional updates, and the data filter of GET.
func (f profileFixture) checkProfileData(t *testing.T, seqNo int64) {
	ctx := context.Background()
	seq := strconv.FormatInt(seqNo, 10)
	up, err := f.es.Security.UpdateUserProfileData(f.uid).IfSeqNo(seq).IfPrimaryTerm("1").
		Labels(map[string]json.RawMessage{"kibana": json.RawMessage(`{"spaces":"default"}`)}).
		Data(map[string]json.RawMessage{"kibana": json.RawMessage(`{"theme":"dark"}`), "other": json.RawMessage(`1`)}).Do(ctx)
	if err != nil || !up.Acknowledged {
		t.Fatalf("update data: %v %+v", err, up)
	}
	_, err = f.es.Security.UpdateUserProfileData(f.uid).IfSeqNo(seq).IfPrimaryTerm("1").
		Data(map[string]json.RawMessage{"kibana": json.RawMessage(`{"theme":"light"}`)}).Do(ctx)
	if status, reason := esErrorOf(err); status != 409 || !strings.Contains(reason, "version conflict") {
		t.Fatalf("stale if_seq_no: %v", err)
	}
	got, err := f.es.Security.GetUserProfile(f.uid).Data("kibana").Do(ctx)
	if err != nil || len(got.Profiles) != 1 || string(got.Profiles[0].Data["kibana"]) != `{"theme":"dark"}` ||
		got.Profiles[0].Data["other"] != nil || string(got.Profiles[0].Labels["kibana"]) != `{"spaces":"default"}` {
		t.Fatalf("get with data=kibana: %v %+v", err, got)
	}
	plain, err := f.es.Security.GetUserProfile(f.uid + ",u_nope_0").Do(ctx)
	if err != nil || len(plain.Profiles) != 1 || len(plain.Profiles[0].Data) != 0 || plain.Errors == nil || plain.Errors.Count != 1 {
		t.Fatalf("get without data, one missing: %v %+v", err, plain)
	}
}

// checkProfileSurvivesRestore: a backup's profile replaces a later change
// on every node.
func (f profileFixture) checkProfileSurvivesRestore(t *testing.T) {
	ctx := context.Background()
	backup := f.c.Do(f.c.Followers()[0], http.MethodGet, "/_tokenstore/backup", testcluster.Elastic, nil)
	if backup.Status != 200 {
		t.Fatalf("backup: %d", backup.Status)
	}
	if _, err := f.es.Security.UpdateUserProfileData(f.uid).Data(map[string]json.RawMessage{"kibana": json.RawMessage(`{"theme":"light"}`)}).Do(ctx); err != nil {
		t.Fatalf("update after backup: %v", err)
	}
	if r := f.c.Do(f.c.Leader(), http.MethodPost, "/_tokenstore/backup/_restore", testcluster.Elastic, backup.Body); r.Status != 200 {
		t.Fatalf("restore: %d %s", r.Status, r.Body)
	}
	// A follower installs the restored snapshot from the leader a moment
	// after the restore is answered (raft's InstallSnapshot).
	for i := 0; i < f.c.Len(); i++ {
		f.c.Eventually(10*time.Second, fmt.Sprintf("node %d has the restored profile", i), func() bool {
			r := f.c.Do(i, http.MethodGet, "/_security/profile/"+f.uid+"?data=*", testcluster.Elastic, nil)
			return r.Status == 200 && strings.Contains(string(r.Body), `"kibana":{"theme":"dark"}`)
		})
	}
}

// checkProfileDisabledEverywhere: disabled, a profile is reported so on
// every node and suggested nowhere; enabled again, its user's privileges
// are checked.
func (f profileFixture) checkProfileDisabledEverywhere(t *testing.T) {
	ctx := context.Background()
	if _, err := f.es.Security.DisableUserProfile(f.uid).Do(ctx); err != nil {
		t.Fatalf("disable: %v", err)
	}
	f.onEveryNode(t, http.MethodGet, "/_security/profile/"+f.uid, nil, func(i, status int, v map[string]any) {
		if enabled := v["profiles"].([]any)[0].(map[string]any)["enabled"]; enabled != false {
			t.Fatalf("node %d: disabled profile reported enabled=%v", i, enabled)
		}
	})
	f.onEveryNode(t, http.MethodPost, "/_security/profile/_suggest", map[string]any{"name": "jack"}, func(i, status int, v map[string]any) {
		if status != 200 || v["total"].(map[string]any)["value"] != 0.0 {
			t.Fatalf("node %d: suggest found a disabled profile: %d %v", i, status, v)
		}
	})
	if _, err := f.es.Security.EnableUserProfile(f.uid).Do(ctx); err != nil {
		t.Fatalf("enable: %v", err)
	}
	sugg, err := f.es.Security.SuggestUserProfiles().Name("Jack Nich").Data("kibana").Do(ctx)
	if err != nil || sugg.Total.Value != 1 || len(sugg.Profiles) != 1 || sugg.Profiles[0].Uid != f.uid || string(sugg.Profiles[0].Data["kibana"]) != `{"theme":"dark"}` {
		t.Fatalf("suggest after enable: %v %+v", err, sugg)
	}
	hp, err := f.es.Security.HasPrivilegesUserProfile().Uids(f.uid, "u_nope_0").
		Privileges(&types.PrivilegesCheck{Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor}}).Do(ctx)
	if err != nil || len(hp.HasPrivilegeUids) != 1 || hp.HasPrivilegeUids[0] != f.uid || hp.Errors == nil || hp.Errors.Count != 1 {
		t.Fatalf("has_privileges monitor: %v %+v", err, hp)
	}
	hp, err = f.es.Security.HasPrivilegesUserProfile().Uids(f.uid).
		Privileges(&types.PrivilegesCheck{Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Managesecurity}}).Do(ctx)
	if err != nil || len(hp.HasPrivilegeUids) != 0 {
		t.Fatalf("has_privileges manage_security: %v %+v", err, hp)
	}
}

// esErrorOf is the status and reason of an error answer the client decoded.
func esErrorOf(err error) (int, string) {
	var e *types.ElasticsearchError
	if errors.As(err, &e) && e.ErrorCause.Reason != nil {
		return e.Status, *e.ErrorCause.Reason
	}
	return 0, ""
}

// The refusals: a caller without manage_user_profile gets Elasticsearch's
// 403, a bad body a 400, and neither changes the profile.
func TestUserProfileRefusals(t *testing.T) {
	f := newProfileFixture(t)
	jack := testcluster.Basic("jacknich", "l0ng-n0t-e4sy")
	activate := map[string]any{"grant_type": "password", "username": "jacknich", "password": "l0ng-n0t-e4sy"}
	r := f.c.Do(0, http.MethodPost, "/_security/profile/_activate", jack, activate)
	if r.Status != 403 || !strings.Contains(string(r.Body), "action [cluster:admin/xpack/security/profile/activate] is unauthorized for user [jacknich]") {
		t.Fatalf("activate without manage_user_profile: %d %s", r.Status, r.Body)
	}
	if r := f.c.Do(1, http.MethodGet, "/_security/profile/"+f.uid, testcluster.Elastic, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"count":1`) {
		t.Fatalf("a refused activation made a profile: %d %s", r.Status, r.Body)
	}
	for _, bad := range []map[string]any{
		{"grant_type": "password", "username": "jacknich", "password": "wrong-password"},
		{"grant_type": "password", "username": "jacknich"},
		{"grant_type": "client_credentials"},
		{"grant_type": "access_token", "access_token": "not-a-token"},
	} {
		if r := f.c.Do(2, http.MethodPost, "/_security/profile/_activate", testcluster.Elastic, bad); r.Status != 400 && r.Status != 401 {
			t.Fatalf("activate %v: %d %s", bad, r.Status, r.Body)
		}
	}
	// On every node: a follower forwards the activation, and the leader
	// checks it against the subject's credential.
	for i := 0; i < f.c.Len(); i++ {
		if r := f.c.Do(i, http.MethodPost, "/_security/profile/_activate", testcluster.Elastic, activate); r.Status != 200 {
			t.Fatalf("activate on node %d: %d %s", i, r.Status, r.Body)
		}
	}
	// A change of the user makes the next activation a write again (an
	// unchanged user within 30 s is answered without one, as Elasticsearch).
	if r := f.c.Do(0, http.MethodPut, "/_security/user/jacknich", testcluster.Elastic, map[string]any{"roles": []string{"watcher"}, "full_name": "J. Nicholson"}); r.Status != 200 {
		t.Fatalf("update user: %d %s", r.Status, r.Body)
	}
	tok := f.c.Do(0, http.MethodPost, "/_security/oauth2/token", testcluster.Elastic, activate).JSON()
	byToken := map[string]any{"grant_type": "access_token", "access_token": tok["access_token"]}
	if r := f.c.Do(f.c.Followers()[0], http.MethodPost, "/_security/profile/_activate", testcluster.Elastic, byToken); r.Status != 200 ||
		!strings.Contains(string(r.Body), `"uid":"`+f.uid+`"`) || !strings.Contains(string(r.Body), `"full_name":"J. Nicholson"`) {
		t.Fatalf("activate with an access token on a follower: %d %s", r.Status, r.Body)
	}
	before := f.c.Do(1, http.MethodGet, "/_security/profile/"+f.uid+"?data=*", testcluster.Elastic, nil).Body
	for i, body := range []string{`{"data": 5}`, `{"labels":{"_hidden":1}}`, `{"data":{"a.b":1}}`, `{}`, `{"labels":[1]}`, `{"data":{"a":1},"extra":1}`} {
		r := f.c.Do(i%3, http.MethodPost, "/_security/profile/"+f.uid+"/_data", testcluster.Elastic, body)
		if r.Status != 400 || !strings.Contains(string(r.Body), `"status":400`) {
			t.Fatalf("bad body %s: %d %s", body, r.Status, r.Body)
		}
	}
	if r := f.c.Do(2, http.MethodPost, "/_security/profile/"+f.uid+"/_data", jack, `{"data":{"a":1}}`); r.Status != 403 ||
		!strings.Contains(string(r.Body), "action [cluster:admin/xpack/security/profile/put/data] is unauthorized for user [jacknich]") {
		t.Fatalf("update without the privilege: %d %s", r.Status, r.Body)
	}
	if r := f.c.Do(0, http.MethodPost, "/_security/profile/"+f.uid+"/_disable", jack, nil); r.Status != 403 {
		t.Fatalf("disable without the privilege: %d %s", r.Status, r.Body)
	}
	if r := f.c.Do(0, http.MethodPost, "/_security/profile/u_nope_0/_disable", testcluster.Elastic, nil); r.Status != 404 {
		t.Fatalf("disable a missing profile: %d %s", r.Status, r.Body)
	}
	after := f.c.Do(1, http.MethodGet, "/_security/profile/"+f.uid+"?data=*", testcluster.Elastic, nil).Body
	if string(before) != string(after) {
		t.Fatalf("refused writes changed the profile:\n%s\n%s", before, after)
	}
	if r := f.c.Do(1, http.MethodPost, "/_security/profile/_suggest", testcluster.Elastic, `{"size":-1}`); r.Status != 400 {
		t.Fatalf("suggest size -1: %d %s", r.Status, r.Body)
	}
	if r := f.c.Do(1, http.MethodGet, "/_security/profile/"+f.uid, jack, nil); r.Status != 403 {
		t.Fatalf("get without read_security: %d %s", r.Status, r.Body)
	}
}

// A forwarded activation the public API would not write (another user's
// profile without their credential, or roles of the caller's choosing) is
// refused by the leader and never applied.
func TestForgedProfileActivationIsRefused(t *testing.T) {
	c := testcluster.New(t, 1)
	putRole(t, c, "profiles", map[string]any{"cluster": []string{"manage_user_profile"}})
	kim := putUser(t, c, "kim", "kim-password", "profiles")
	st := c.Node(0).Cluster().State()
	sum := sha256.Sum256([]byte("kim"))
	uid := "u_" + base64.RawURLEncoding.EncodeToString(sum[:]) + "_0"
	now := time.Now().UnixMilli()
	good := fsm.Profile{UID: uid, Username: "kim", RealmName: "default_native", RealmType: "native", Roles: []string{"profiles"}, LastSynchronized: now}
	forged := map[string]func(*fsm.Profile){
		"with more roles":       func(p *fsm.Profile) { p.Roles = []string{"superuser"} },
		"of another user":       func(p *fsm.Profile) { p.Username = "elastic" },
		"with another uid":      func(p *fsm.Profile) { p.UID = "u_chosen_0" },
		"synchronized in 2100":  func(p *fsm.Profile) { p.LastSynchronized = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli() },
		"with data of its own":  func(p *fsm.Profile) { p.Data = json.RawMessage(`{"a":1}`) },
		"in the reserved realm": func(p *fsm.Profile) { p.RealmName, p.RealmType = "reserved", "reserved" },
	}
	for what, mutate := range forged {
		p := good
		mutate(&p)
		if r := forge(t, c, kim, kim, fsm.ProfileActivatedV1{Profile: p}); r.Status != http.StatusForbidden {
			t.Errorf("profile %s: %d %s", what, r.Status, r.Body)
		}
	}
	if r := forge(t, c, kim, "", fsm.ProfileActivatedV1{Profile: good}); r.Status != http.StatusForbidden {
		t.Errorf("profile without its subject's credential: %d %s", r.Status, r.Body)
	}
	if n := st.ProfileCount(); n != 0 {
		t.Fatalf("%d forged profiles reached the state", n)
	}
	if r := forge(t, c, kim, kim, fsm.ProfileActivatedV1{Profile: good}); r.Status != http.StatusOK {
		t.Fatalf("the profile activation would write was refused: %d %s", r.Status, r.Body)
	}
}
