package httpapi_test

import (
	"context"
	"testing"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/invalidateapikey"
	"github.com/elastic/go-elasticsearch/v8/typedapi/security/queryapikeys"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types/enums/clusterprivilege"

	"github.com/tokenstore/tokenstore/testcluster"
)

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
