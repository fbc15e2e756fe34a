package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The workloads.
const (
	// Create is POST /_security/api_key.
	Create = "create"
	// Authenticate is GET /_security/_authenticate with one API key made
	// before the run (or Config.Credential).
	Authenticate = "authenticate"
	// Grant is the password grant, POST /_security/oauth2/token.
	Grant = "grant"
	// Refresh has each client refresh its own chain of refresh tokens.
	Refresh = "refresh"
	// Mixed is Config.Mix percent authentications, the rest creates.
	Mixed = "mixed"
)

const (
	apiKeyPath       = "/_security/api_key"
	authenticatePath = "/_security/_authenticate"
	tokenPath        = "/_security/oauth2/token"
)

// createBody marks the keys a run makes, and lets them expire: a benchmark
// against a real cluster leaves nothing usable behind.
var createBody = []byte(`{"name":"tokenstore-bench","expiration":"1d","metadata":{"tokenstore_bench":true}}`)

// workload is what one workload does: setup before the clients start,
// prepare for each client before the clock starts, and step, one
// operation (measured with client.do).
type workload struct {
	setup   func(ctx context.Context, r *runner) error
	prepare func(ctx context.Context, c *client) error
	step    func(ctx context.Context, c *client)
	// ops are the operations its report always lists.
	ops []int
}

var workloads = map[string]workload{
	Create:       {step: create, ops: []int{opCreate}},
	Authenticate: {setup: makeCredential, step: authenticate, ops: []int{opAuthenticate}},
	Grant:        {step: grant, ops: []int{opGrant}},
	Refresh:      {prepare: startChain, step: refresh, ops: []int{opRefresh}},
	Mixed:        {setup: makeCredential, step: mixed, ops: []int{opAuthenticate, opCreate}},
}

func (w workload) reports(op int) bool { return slices.Contains(w.ops, op) }

// Workloads lists the workload names.
func Workloads() []string {
	return []string{Create, Authenticate, Grant, Refresh, Mixed}
}

func workloadList() string { return strings.Join(Workloads(), ", ") }

func create(ctx context.Context, c *client) {
	c.do(ctx, opCreate, http.MethodPost, apiKeyPath, c.r.basic, createBody)
}

func authenticate(ctx context.Context, c *client) {
	c.do(ctx, opAuthenticate, http.MethodGet, authenticatePath, c.r.credential, nil)
}

func grant(ctx context.Context, c *client) {
	c.do(ctx, opGrant, http.MethodPost, tokenPath, c.r.basic, c.r.grant)
}

func mixed(ctx context.Context, c *client) {
	mix := c.r.cfg.Mix
	if mix == 0 {
		mix = 90
	}
	if c.rng.Float64()*100 < mix {
		authenticate(ctx, c)
	} else {
		create(ctx, c)
	}
}

// makeCredential creates the API key authenticate and mixed send, unless
// the run was given a credential.
func makeCredential(ctx context.Context, r *runner) error {
	if r.credential != "" {
		return nil
	}
	body, err := r.setupCall(ctx, strings.TrimSuffix(r.cfg.URLs[0], "/"), http.MethodPost, apiKeyPath, r.basic, createBody)
	if err != nil {
		return fmt.Errorf("create the API key to authenticate with: %w", err)
	}
	var key struct {
		Encoded string `json:"encoded"`
	}
	if err := json.Unmarshal(body, &key); err != nil || key.Encoded == "" {
		return fmt.Errorf("create the API key to authenticate with: no encoded key in %s", truncate(string(body)))
	}
	r.credential = "ApiKey " + key.Encoded
	return nil
}

// passwordGrant is the body of the user's password grant.
func passwordGrant(user, password string) []byte {
	b, _ := json.Marshal(map[string]string{"grant_type": "password", "username": user, "password": password})
	return b
}

// startChain gives a client its first refresh token, before the clock.
func startChain(ctx context.Context, c *client) error {
	body, err := c.r.setupCall(ctx, c.base, http.MethodPost, tokenPath, c.r.basic, c.r.grant)
	if err != nil {
		return fmt.Errorf("password grant for the first refresh token: %w", err)
	}
	c.chain = refreshTokenOf(body)
	if c.chain == "" {
		return fmt.Errorf("password grant for the first refresh token: no refresh_token in %s", truncate(string(body)))
	}
	return nil
}

// refresh refreshes the client's chain. A refresh that fails ends the
// chain (its token may be spent); the next step starts another with a
// password grant, measured as one.
func refresh(ctx context.Context, c *client) {
	if c.chain == "" {
		if c.do(ctx, opGrant, http.MethodPost, tokenPath, c.r.basic, c.r.grant) {
			c.chain = refreshTokenOf(c.buf.Bytes())
		}
		return
	}
	body, _ := json.Marshal(map[string]string{"grant_type": "refresh_token", "refresh_token": c.chain})
	c.chain = ""
	if c.do(ctx, opRefresh, http.MethodPost, tokenPath, c.r.basic, body) {
		c.chain = refreshTokenOf(c.buf.Bytes())
	}
}

func refreshTokenOf(body []byte) string {
	var t struct {
		RefreshToken string `json:"refresh_token"`
	}
	json.Unmarshal(body, &t)
	return t.RefreshToken
}
