package authn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tokenstore/tokenstore/authn/throttle"
	"github.com/tokenstore/tokenstore/fsm"
)

// Config holds authn's settings.
type Config struct {
	// PasswordHashing is xpack.security.authc.password_hashing.algorithm.
	PasswordHashing string
	// CacheTTL is how long a verified password stays cached (the realm's
	// cache.ttl); 0 disables the cache.
	CacheTTL time.Duration
	// CatchUpWait bounds how long a lookup that misses waits for this node
	// to catch up with the leader before it decides.
	CatchUpWait time.Duration
	// ConfigDir holds the service_tokens file; empty means none.
	ConfigDir string
	// TokensEnabled and APIKeysEnabled are xpack.security.authc.token.enabled
	// and .api_key.enabled; TokenTimeout is the access token lifetime.
	TokensEnabled  bool
	APIKeysEnabled bool
	TokenTimeout   time.Duration
	// Throttle is failed-authentication throttling (see throttle.go).
	Throttle ThrottleConfig
	// MaxBcryptCost and MaxPBKDF2Iterations bound what one verification of
	// a user's stored password hash may cost: a password_hash above them is
	// refused (400) and a stored one is not verified (the check fails).
	// Zero means the configured algorithm's own cost for its family and
	// Elasticsearch's default (bcrypt 10, 10,000 iterations) for the other;
	// neither is ever below the configured algorithm's own cost.
	MaxBcryptCost       int
	MaxPBKDF2Iterations int
	// CryptoPoolSize hashes run at once and CryptoQueueSize more may wait;
	// beyond that a request gets 429 (Elasticsearch's security-crypto pool:
	// half the processors, queue 1000). Zero takes those defaults.
	CryptoPoolSize  int
	CryptoQueueSize int
	// PeersAuthenticated is set when the internal endpoints accept only
	// cluster members: a forwarded write's credentials then skip the
	// throttle, as the forwarding node throttled its client by the client's
	// address. Otherwise anyone could call those endpoints to guess a
	// password, so a forwarded password check meets the username bucket.
	PeersAuthenticated bool
	// ForwardAuthRules, when set, is the rule set forward-auth requests
	// must pass (tokenstore.forward_auth.rules); nil lets any valid
	// credential through.
	ForwardAuthRules *ForwardAuthRules
	// LastUsedInterval is xpack.security.authc.api_key.last_used.interval:
	// how often the members' API key uses become one event, and so the
	// precision of last_used.
	LastUsedInterval time.Duration
	// Observers hear every authentication, authorization and write (the
	// metrics and the audit log).
	Observers []Observer
	// Now is the clock; nil means time.Now. Tests skew it.
	Now    func() time.Time
	Logger hclog.Logger
}

// DefaultConfig is Elasticsearch's defaults.
func DefaultConfig() Config {
	return Config{PasswordHashing: "bcrypt", CacheTTL: 20 * time.Minute, CatchUpWait: 300 * time.Millisecond,
		TokensEnabled: true, APIKeysEnabled: true, TokenTimeout: 20 * time.Minute, LastUsedInterval: time.Hour,
		CryptoPoolSize: defaultCryptoPoolSize(), CryptoQueueSize: defaultCryptoQueueSize}
}

// Service is the security service of one node.
type Service struct {
	p      Proposer
	st     *fsm.State
	hasher Hasher
	// The verification caches: passwords and the service_tokens file's
	// tokens for cfg.CacheTTL (nil when 0), the others for as long as the
	// records they were built from.
	users, fileTokens *verifyCache[uint64]
	apiKeys           *verifyCache[*fsm.APIKey]
	serviceTokens     *verifyCache[*fsm.ServiceToken]
	accessTokens      *verifyCache[accessTokenVersion]
	files             *fileTokenStore
	throttle          *throttle.Throttle
	crypto            *hashPool
	costLimit         costLimit
	// dummyHash is verified for a user that does not exist or is
	// disabled, so that answering costs what a wrong password does.
	dummyHash string
	overCost  overCostLog
	obs       observers
	// bootstrapSeen: the state has applied the cluster's bootstrap.
	bootstrapSeen atomic.Bool
	cfg           Config
	log           hclog.Logger
	now           func() time.Time
	// uses is where this node notes API key uses (last_used.go). A use's
	// time is epochNs, the throttle's clock origin in epoch ns, plus the
	// attempt's admission time (attempt.at), which is on that clock.
	uses    keyUses
	epochNs int64
}

// New builds the service over a proposer (the cluster node).
func New(p Proposer, cfg Config) (*Service, error) {
	h, err := NewHasher(cfg.PasswordHashing)
	if err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	dummy, err := dummyHash(h)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	if cfg.LastUsedInterval <= 0 {
		cfg.LastUsedInterval = DefaultConfig().LastUsedInterval
	}
	epoch := now()
	s := &Service{
		p: p, st: p.State(), hasher: h, cfg: cfg, now: now, log: cfg.Logger.Named("authn"), epochNs: epoch.UnixNano(),
		apiKeys:       newVerifyCache[*fsm.APIKey](0, maxCached),
		serviceTokens: newVerifyCache[*fsm.ServiceToken](0, maxCached),
		accessTokens:  newVerifyCache[accessTokenVersion](0, maxCached),
		files:         newFileTokenStore(cfg.ConfigDir, cfg.Logger.Named("service-tokens")),
		throttle:      throttle.New(cfg.Throttle, epoch),
		crypto:        newHashPool(cfg.CryptoPoolSize, cfg.CryptoQueueSize),
		costLimit:     newCostLimit(h, cfg.MaxBcryptCost, cfg.MaxPBKDF2Iterations),
		dummyHash:     dummy,
		obs:           cfg.Observers,
	}
	if cfg.CacheTTL > 0 {
		s.users, s.fileTokens = newVerifyCache[uint64](cfg.CacheTTL, maxCached), newVerifyCache[uint64](cfg.CacheTTL, maxCached)
	}
	return s, nil
}

// maxCached bounds each verification cache.
const maxCached = 100_000

// String keeps the credentials out of logs and error messages.
func (c Caller) String() string {
	if c.Auth == nil {
		return "[unauthenticated caller]"
	}
	return "caller " + c.Auth.Username + " [credentials redacted]"
}

// GoString keeps the credentials out of %#v output.
func (c Caller) GoString() string { return c.String() }

// Caller is an authenticated request: who it is and the credential it came
// with, which writes carry to the leader.
type Caller struct {
	Auth       *Authentication
	Credential string
	// Subject is the credential of the user a write is made for, when that
	// is not the caller: the password of a password grant, the refresh
	// token of a refresh. It proves the subject to the leader.
	Subject string
	// Request is the API request the caller authenticated on; nil for a
	// credential that came another way (a forwarded write's).
	Request *http.Request
	// from is where the request came from: a password in its body (the
	// password grant) is throttled like one in its header.
	from origin
}

// Internal reports a caller authenticated for another node (a forwarded
// write, a join), which observed its client's request itself.
func (c Caller) Internal() bool { return c.from.internal }

// unauthenticated is the 401 for credentials that were given but refused.
func unauthenticated(reason, additional string) *Error {
	return &Error{Kind: Unauthenticated, Type: "security_exception", Reason: reason, Additional: additional}
}

// anonymousDenied is Elasticsearch's reason for a credential it could not
// tell apart from none.
const anonymousDenied = "unable to authenticate with provided credentials and anonymous access is not allowed for this request"

// Authenticate checks the Authorization header against the local state.
// path is the request path, which Elasticsearch puts into its messages;
// remoteAddr is the TCP peer (http.Request.RemoteAddr), whose failures the
// throttle counts.
func (s *Service) Authenticate(ctx context.Context, header, path, remoteAddr string) (Caller, error) {
	return s.authenticate(ctx, header, path, clientOrigin(remoteAddr))
}

// AuthenticateRequest authenticates an API request by its Authorization
// header and TCP peer (never X-Forwarded-For, which any client can write).
func (s *Service) AuthenticateRequest(r *http.Request) (Caller, error) {
	start := s.now()
	a := newAttempt(clientOrigin(r.RemoteAddr), "", r.URL.Path, start)
	header, target, runAs := splitRunAs(r.Header.Get("Authorization"))
	c, err := s.authenticateAttempt(r.Context(), header, &a)
	c.Request = r
	s.obs.authenticated(&a, c.Auth, err, start, r)
	if err != nil || !runAs {
		return c, err
	}
	return s.RunAs(c, target, r.URL.Path)
}

func (s *Service) authenticate(ctx context.Context, header, path string, from origin) (Caller, error) {
	start := s.now()
	// A forwarded write made under run-as carries the run-as user: the
	// leader checks again that the credential may run as that user.
	header, target, runAs := splitRunAs(header)
	a := newAttempt(from, "", path, start)
	c, err := s.authenticateAttempt(ctx, header, &a)
	s.obs.authenticated(&a, c.Auth, err, start, nil)
	if err != nil || !runAs {
		return c, err
	}
	as, err := s.runAs(c, target)
	if err != nil {
		return Caller{}, runAsDenied(c.Auth, target, path)
	}
	return as, nil
}

func (s *Service) authenticateAttempt(ctx context.Context, header string, a *attempt) (Caller, error) {
	cred := ParseAuthorization(header)
	from := a.from
	describe(cred, a)
	if err := s.admit(a); err != nil {
		return Caller{}, err
	}
	if cred.Scheme != NoCredential {
		if err := s.ensureFresh(ctx); err != nil {
			return Caller{}, err
		}
	}
	kind := chain.kindOf(cred)
	if kind != nil && !kind.beforeBootstrap {
		if err := s.bootstrapped(); err != nil {
			return Caller{}, err
		}
	}
	if kind != nil && kind.cached != nil && !cred.Malformed {
		if auth := kind.cached(s, cred); auth != nil {
			s.succeeded(a)
			return Caller{Auth: auth, Credential: header, from: from}, nil
		}
	}
	// Reserved only now: a catch-up can be slow, and successes in flight
	// must not eat the budget of a busy client.
	if kind != nil && kind.slow && !cred.Malformed {
		if err := s.reserve(a); err != nil {
			return Caller{}, err
		}
		defer s.release(a)
	}
	auth, genuine, err := s.check(ctx, kind, cred, a)
	if err != nil {
		s.failed(a, err, !genuine && !undecided(err))
		return Caller{}, err
	}
	s.noteUse(auth, a)
	s.succeeded(a)
	return Caller{Auth: auth, Credential: header, from: from}, nil
}

// cachedPassword is the user a Basic credential names when the cache
// verified this password for the user's current version: no hash to run.
func (s *Service) cachedPassword(cred Credential) *Authentication {
	rec, ok := lookupUser(s.st, cred.Principal)
	if !ok || !rec.enabled {
		return nil
	}
	return s.users.get(cred.Principal, rec.modIndex, cred.Secret, s.now)
}

// undecided reports an error that says nothing of the credential: no
// leader to ask, or no turn to hash it in.
func undecided(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == Unavailable || hashRefusal(err)
}

// authenticatePassword checks a password that came in a request body (the
// password grant) under the same throttle as one in a Basic header.
func (s *Service) authenticatePassword(ctx context.Context, c Caller, scheme, name string, password []byte, path string) (*Authentication, error) {
	start := s.now()
	a := newAttempt(c.from, scheme, path, start)
	a.SetUser(name)
	auth, err := s.checkPassword(ctx, &a, name, password, path)
	s.obs.authenticated(&a, auth, err, start, c.Request)
	return auth, err
}

func (s *Service) checkPassword(ctx context.Context, a *attempt, name string, password []byte, path string) (*Authentication, error) {
	if err := s.admit(a); err != nil {
		return nil, err
	}
	// A password verified before is a success, and successes are never
	// limited: only a check that may fail reserves the throttle's budget
	// (as for a Basic header). Without this, 30 cached grants in flight
	// from one address were refused with 429.
	if auth := s.cachedPassword(Credential{Principal: name, Secret: password}); auth != nil {
		s.succeeded(a)
		return auth, nil
	}
	if err := s.reserve(a); err != nil {
		return nil, err
	}
	defer s.release(a)
	auth, err := s.authenticateUser(ctx, name, password)
	if hashRefusal(err) {
		s.failed(a, err, false)
		return nil, err
	}
	if err != nil {
		e := unauthenticated(fmt.Sprintf("unable to authenticate user [%s] for REST request [%s]", name, path), "")
		s.failed(a, e, true)
		return nil, e
	}
	s.succeeded(a)
	return auth, nil
}

var errBadPassword = errors.New("bad password")

// authenticateUser verifies a user's password: from the cache when the same
// password was verified for the same version of the user, otherwise with the
// KDF, outside any lock. A miss may be a write this node has not applied yet,
// so it catches up with the leader, briefly, once.
func (s *Service) authenticateUser(ctx context.Context, name string, password []byte) (*Authentication, error) {
	auth, err := s.verifyUser(ctx, name, password)
	if err == nil || hashRefusal(err) {
		return auth, err
	}
	before := s.st.AppliedIndex()
	if cerr := s.catchUpOnMiss(ctx); cerr != nil {
		return nil, cerr
	}
	if s.st.AppliedIndex() == before {
		return nil, err
	}
	return s.verifyUser(ctx, name, password)
}

// lookUp finds a credential's record. A miss may be a record created a
// moment ago on another node, so it catches up with the leader, briefly,
// once, and looks again.
func lookUp[T any](ctx context.Context, s *Service, key string, get func(string) (T, bool)) (T, bool, error) {
	if v, ok := get(key); ok {
		return v, true, nil
	}
	if err := s.catchUpOnMiss(ctx); err != nil {
		var zero T
		return zero, false, err
	}
	v, ok := get(key)
	return v, ok, nil
}

// catchUpOnMiss lets a credential unknown here be looked up again after a
// catch-up with the leader: it may have been created a moment ago on
// another node. Without a leader to ask the miss decides nothing, and the
// answer is 503, not a 401 for a credential that may well exist.
func (s *Service) catchUpOnMiss(ctx context.Context) error {
	return s.catchUpOr503(ctx, s.cfg.CatchUpWait,
		"the credentials are not known on this node and the cluster's leader cannot be asked about them now")
}

// bootstrapped is the 503 for a credential judged on a state that has not
// applied the cluster's bootstrap yet (a fresh node, or one replaying its
// log after a restart): elastic has no password there and no other
// credential can exist yet, so a refusal would be the node's doing, not the
// client's. It is no failure, and the client's throttle budget is not
// charged for it.
// Once seen, the bootstrap stays (a restore keeps the cluster's id), so
// the state's lock is taken only until then, not on every authentication.
func (s *Service) bootstrapped() error {
	if s.bootstrapSeen.Load() {
		return nil
	}
	if s.st.ClusterID() != "" {
		s.bootstrapSeen.Store(true)
		return nil
	}
	return unavailable("this node has not applied the cluster's security bootstrap yet and cannot decide credentials; retry shortly")
}

// strictRead is freshRead for a write that is decided by what this node
// sees (which keys an invalidation names, whether a refresh token is
// unused): without a leader to catch up with, it refuses (503) rather than
// decide on a state that may lack an acknowledged write.
func (s *Service) strictRead(ctx context.Context) error {
	return s.catchUpOr503(ctx, 2*time.Second, "this node cannot reach the cluster's leader to see every acknowledged write")
}

// freshRead lets a management read see every write acknowledged anywhere
// before it started: it catches up with the leader first, briefly. Without
// a leader it reads what this node has.
func (s *Service) freshRead(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	s.p.CatchUp(ctx)
}

// propose sends an event on behalf of the caller and maps cluster failures.
func (s *Service) propose(ctx context.Context, c Caller, p fsm.Payload) (fsm.Result, error) {
	start := time.Now()
	res, err := s.proposeEncoded(ctx, c, p)
	s.obs.wrote(c, p, res, err, start)
	if err != nil {
		return fsm.Result{}, fmt.Errorf("propose %T: %w", p, err)
	}
	return res, nil
}

// proposeEncoded writes p as the compact version of its event
// (fsm.Compact) once every member applies it, and as it is while an older
// member, which could not read the compact one, remains (a rolling
// upgrade). This is the one place a compact event is chosen; observers
// still see p. Whether every member applies it is decided where it is
// proposed (this node's own check, and the leader's, which may know of an
// older member this node has not seen yet); a refusal appends nothing, and
// p then goes as it is.
func (s *Service) proposeEncoded(ctx context.Context, c Caller, p fsm.Payload) (fsm.Result, error) {
	if compact, ok := fsm.Compact(p); ok {
		if event, err := fsm.Encode(compact); err == nil {
			_, res, err := s.p.Propose(ctx, event, c.Credential, c.Subject)
			var older interface{ EventNotSupported() }
			if !errors.As(err, &older) {
				return res, err
			}
		}
	}
	event, err := fsm.Encode(p)
	if err != nil {
		return fsm.Result{}, err
	}
	_, res, err := s.p.Propose(ctx, event, c.Credential, c.Subject)
	return res, err
}

// ensureFresh makes sure the local state holds every revocation the cluster
// has acknowledged before a credential is judged by it: a node cut off from
// the leader, or just restarted, catches up with a verified leader first,
// and without one it refuses to decide (503) rather than accept a credential
// that may have been invalidated.
func (s *Service) ensureFresh(ctx context.Context) error {
	if s.p.Fresh() {
		return nil
	}
	return s.catchUpOr503(ctx, 2*time.Second,
		"this node is not in contact with the cluster's leader and cannot tell whether the credentials are still valid")
}

// revocationVisible waits, before a credential is refused because of the
// revocation at index, until every node that answers from its own state
// has it too: a refusal here must not be followed by an acceptance there.
// Revocations acknowledged already return at once.
func (s *Service) revocationVisible(ctx context.Context, index uint64) error {
	// A record restored from a backup carries the source cluster's index;
	// whatever brought it here is at or below what this node has applied.
	index = min(index, s.st.AppliedIndex())
	if err := s.p.WaitConfirmed(ctx, index); err != nil {
		return unavailable("the credentials were revoked a moment ago and the cluster cannot confirm it yet")
	}
	return nil
}

// catchUpOr503 catches up with the leader within d, or is the 503 whose
// reason says what could not be decided.
func (s *Service) catchUpOr503(ctx context.Context, d time.Duration, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	if s.p.CatchUp(ctx) != nil {
		return unavailable(reason)
	}
	return nil
}

// unavailable is the 503 for a question this node cannot answer now.
func unavailable(reason string) *Error {
	return &Error{Kind: Unavailable, Type: "unavailable_shards_exception", Reason: reason}
}
