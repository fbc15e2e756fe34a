package httpapi_test

import (
	"context"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/hasprivileges"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/invalidateapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryapikeys"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/indexprivilege"

	"github.com/tokenstore/tokenstore/testcluster"
)

// The official client, typed API: every call must succeed and its answer
// must decode into the client's own response types.
func TestOfficialGoClient(t *testing.T) {
	c := testcluster.New(t, 1)
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{
		Addresses: []string{c.URL(0)}, Username: "elastic", Password: testcluster.ElasticPassword,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	who, err := es.Security.Authenticate().Do(ctx)
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if who.Username != "elastic" || who.AuthenticationType != "realm" || len(who.Roles) != 1 || who.Roles[0] != "superuser" {
		t.Errorf("Authenticate: got %+v", who)
	}

	role, err := es.Security.PutRole("readers").
		Cluster(clusterprivilege.Monitor).
		Indices(types.IndicesPrivileges{Names: []string{"logs-*"}, Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read}}).
		Do(ctx)
	if err != nil || !role.Role.Created {
		t.Fatalf("PutRole: %+v, %v", role, err)
	}

	user, err := es.Security.PutUser("jacknich").Password("l0ng-n0t-e4sy-p4ssw0rd").Roles("readers").
		FullName("Jack Nicholson").Email("jacknich@example.com").Metadata(types.Metadata{"intelligence": []byte("7")}).Do(ctx)
	if err != nil || !user.Created {
		t.Fatalf("PutUser: %+v, %v", user, err)
	}

	got, err := es.Security.GetUser().Username("jacknich").Do(ctx)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	u, ok := got["jacknich"]
	if !ok || u.FullName == nil || *u.FullName != "Jack Nicholson" || len(u.Roles) != 1 || !u.Enabled {
		t.Errorf("GetUser: got %+v", got)
	}
	// An update replaces the user's fields, as in Elasticsearch.
	again, err := es.Security.PutUser("jacknich").Roles("readers").Do(ctx)
	if err != nil || again.Created {
		t.Fatalf("PutUser update: %+v, %v (want created=false)", again, err)
	}

	jack, err := elasticsearch.NewTypedClient(elasticsearch.Config{
		Addresses: []string{c.URL(0)}, Username: "jacknich", Password: "l0ng-n0t-e4sy-p4ssw0rd",
	})
	if err != nil {
		t.Fatal(err)
	}
	hp, err := jack.Security.HasPrivileges().Request(&hasprivileges.Request{
		Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor, clusterprivilege.Manage},
		Index: []types.IndexPrivilegesCheck{{Names: []string{"logs-1", "other"},
			Privileges: []indexprivilege.IndexPrivilege{indexprivilege.Read}}},
	}).Do(ctx)
	if err != nil {
		t.Fatalf("HasPrivileges: %v", err)
	}
	if hp.Username != "jacknich" || hp.HasAllRequested || !hp.Cluster["monitor"] || hp.Cluster["manage"] ||
		!hp.Index["logs-1"]["read"] || hp.Index["other"]["read"] {
		t.Errorf("HasPrivileges: got %+v", hp)
	}
}

// Acceptance 5: the official typed client creates, gets, queries, updates
// and invalidates keys, and decodes every answer.
func TestAPIKeysWithOfficialGoClient(t *testing.T) {
	c := testcluster.New(t, 1)
	es, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(0)}, Username: "elastic", Password: testcluster.ElasticPassword})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	created, err := es.Security.CreateApiKey().Name("client-key").Expiration("1d").
		Metadata(types.Metadata{"application": []byte(`"myapp"`)}).
		RoleDescriptors(map[string]types.RoleDescriptor{"r": {Cluster: []clusterprivilege.ClusterPrivilege{clusterprivilege.Monitor}}}).Do(ctx)
	if err != nil || created.Id == "" || created.ApiKey == "" || created.Expiration == nil {
		t.Fatalf("CreateApiKey: %+v, %v", created, err)
	}
	got, err := es.Security.GetApiKey().Id(created.Id).Do(ctx)
	if err != nil || len(got.ApiKeys) != 1 || got.ApiKeys[0].Name != "client-key" || got.ApiKeys[0].Invalidated {
		t.Fatalf("GetApiKey: %+v, %v", got, err)
	}
	q, err := es.Security.QueryApiKeys().Request(&queryapikeys.Request{Query: &types.ApiKeyQueryContainer{
		Term: map[string]types.TermQuery{"name": {Value: "client-key"}}}}).Do(ctx)
	if err != nil || q.Total != 1 || q.Count != 1 || q.ApiKeys[0].Id != created.Id {
		t.Fatalf("QueryApiKeys: %+v, %v", q, err)
	}
	up, err := es.Security.UpdateApiKey(created.Id).Metadata(types.Metadata{"application": []byte(`"other"`)}).Do(ctx)
	if err != nil || !up.Updated {
		t.Fatalf("UpdateApiKey: %+v, %v", up, err)
	}
	inv, err := es.Security.InvalidateApiKey().Request(&invalidateapikey.Request{Ids: []string{created.Id}}).Do(ctx)
	if err != nil || len(inv.InvalidatedApiKeys) != 1 || inv.ErrorCount != 0 {
		t.Fatalf("InvalidateApiKey: %+v, %v", inv, err)
	}
	keyClient, err := elasticsearch.NewTypedClient(elasticsearch.Config{Addresses: []string{c.URL(0)}, APIKey: created.Encoded})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyClient.Security.Authenticate().Do(ctx); err == nil {
		t.Fatal("an invalidated key still authenticates through the client")
	}
}
