package cluster

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// A client's request that this node cannot answer alone takes one of two
// paths, both with the client's credential and both refused towards a
// member not verified as a node: to the leader as it came (ForwardToLeader),
// or as a question to every member (AskMembers).

// ForwardToLeader passes a request that only the leader can carry out on
// to it, as it came: the leader authenticates and authorizes it again.
func (n *Node) ForwardToLeader(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	leader, err := n.waitLeaderURL(ctx)
	cancel()
	if err != nil {
		return err
	}
	target, err := url.Parse(leader)
	if err != nil {
		return err
	}
	if !n.credentialsMayGoTo(target.Host) {
		// The client's credential goes with the request: not to a member
		// nothing proves is a node.
		return fmt.Errorf("%w: %v", ErrUnavailable, ErrUnverifiedPeer)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = n.client.Transport
	proxy.ServeHTTP(w, r)
	return nil
}

// Answer is one member's answer to AskMembers.
type Answer struct {
	Member string
	// Self marks this node, which is not asked.
	Self bool
	// Body is the answer to a call that got 200; Err says why there is none.
	Body []byte
	Err  error
}

// askTimeout bounds each member's answer to AskMembers.
const askTimeout = 2 * time.Second

// AskMembers sends a GET for path with the
// client's credential to every other member at once, and returns one
// answer per member of the configuration, this node's included, in id
// order.
func (n *Node) AskMembers(ctx context.Context, path, credential string) ([]Answer, error) {
	members, err := n.Members()
	if err != nil {
		return nil, err
	}
	answers := make([]Answer, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		answers[i] = Answer{Member: m.ID, Self: m.ID == n.cfg.ID}
		if answers[i].Self {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i].Body, answers[i].Err = n.ask(ctx, m.HTTPAddr, path, credential)
		}()
	}
	wg.Wait()
	return answers, nil
}

func (n *Node) ask(ctx context.Context, httpAddr, path, credential string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, askTimeout)
	defer cancel()
	status, body, err := n.call(ctx, http.MethodGet, n.PeerURL(httpAddr)+path, credential, nil, nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("%s answered %d", truncate(httpAddr, 64), status)
	}
	return body, nil
}
