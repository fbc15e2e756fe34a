package cluster

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// The leader's periodic question to every member: which API key uses has
// it seen that the state does not show yet (authn/last_used.go). Only nodes
// ask it (NodeOnlyPaths): the answer names keys and when they were used.
const pathKeyUsage = InternalPrefix + "/api_key_usage"

// maxReport bounds one member's answer: authn keeps its reports under
// half of it.
const maxReport = maxEventBytes

// Reporter answers the leader's question on this node. authn.Service
// satisfies it; it is given to Handler.
type Reporter interface {
	// KeyUsageReport is the JSON of this node's uses the state lacks.
	KeyUsageReport() []byte
}

func (n *Node) handleKeyUsage(w http.ResponseWriter, rep Reporter) {
	if rep == nil {
		http.Error(w, "no reports on this node", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(rep.KeyUsageReport())
}

// GatherKeyUsage asks every other member for its report at once, with
// this node's own credential, and returns the answers that came: a member
// that does not answer reports the same uses next time.
func (n *Node) GatherKeyUsage(ctx context.Context) [][]byte {
	members, err := n.Members()
	if err != nil {
		return nil
	}
	answers := make([][]byte, len(members))
	var wg sync.WaitGroup
	for i, m := range members {
		if m.ID == n.cfg.ID || m.HTTPAddr == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, err := n.getReport(ctx, n.PeerURL(m.HTTPAddr)+pathKeyUsage)
			if err != nil {
				n.log.Debug("no api key usage report", "member", m.ID, "error", err)
			}
			answers[i] = body
		}()
	}
	wg.Wait()
	out := answers[:0]
	for _, a := range answers {
		if a != nil {
			out = append(out, a)
		}
	}
	return out
}

// getReport is one GET of a node-only endpoint whose answer may be larger
// than call reads.
func (n *Node) getReport(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if c := n.peerCredential(); c != "" {
		req.Header.Set("Authorization", c)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReport+1))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("answered %d", resp.StatusCode)
	case len(body) > maxReport:
		return nil, fmt.Errorf("answer larger than %d bytes", maxReport)
	}
	return body, nil
}
