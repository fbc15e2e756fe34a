package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/tokenstore/tokenstore/testcluster"
)

// Membership changes that would leave no voter, or make a dead member a
// voter, or name no member, are refused with an Elasticsearch error and
// change nothing.
func TestMembershipChangesRefused(t *testing.T) {
	c := testcluster.New(t, 1, testcluster.Options{NonVoters: 1})
	send := func(method, path string) sweepResp {
		return sweepSend(t, c.URL(1), method, path, testcluster.Elastic, nil, nil)
	}
	cases := []struct {
		name, method, path string
		want               int
	}{
		{"demote the last voter", http.MethodPost, "/_tokenstore/cluster/node-0/_demote", http.StatusBadRequest},
		{"remove the last voter", http.MethodDelete, "/_tokenstore/cluster/node-0", http.StatusBadRequest},
		{"promote no member", http.MethodPost, "/_tokenstore/cluster/node-9/_promote", http.StatusNotFound},
		{"demote no member", http.MethodPost, "/_tokenstore/cluster/node-9/_demote", http.StatusNotFound},
		{"remove no member", http.MethodDelete, "/_tokenstore/cluster/node-9", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkESError(t, send(tc.method, tc.path), tc.want) })
	}
	c.Kill(1)
	c.Eventually(10*time.Second, "the leader sees the non-voter down", func() bool {
		ms, _ := c.Node(0).Cluster().Members()
		return len(ms) == 2 && !ms[1].Alive
	})
	checkESError(t, sweepSend(t, c.URL(0), http.MethodPost, "/_tokenstore/cluster/node-1/_promote", testcluster.Elastic, nil, nil), http.StatusBadRequest)
	c.WaitForMembers(1, 1, time.Second)
}
