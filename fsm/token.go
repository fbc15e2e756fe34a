package fsm

import (
	"encoding/json"
	"slices"
	"strings"
	"unique"
)

// RefreshWindow is how long after its first use a refresh token returns
// the same new pair again (so clients that retry or race are not logged out).
const RefreshWindow = 30_000 // ms

// RefreshLifetime is how long after the original grant a refresh token
// may be used.
const RefreshLifetime = 24 * 3600 * 1000 // ms

// TokenPair is an access token and its refresh token, stored by document
// id. Only unsalted SHA-256 digests of the raw tokens are kept: they carry
// 192 random bits, so a salt would add nothing.
type TokenPair struct {
	DocID        string `json:"doc_id"`
	AccessHash   string `json:"access_hash"`
	RefreshHash  string `json:"refresh_hash,omitempty"` // empty: no refresh token
	Creation     int64  `json:"creation"`               // epoch ms
	GrantTime    int64  `json:"grant_time"`             // the original grant, for the 24 h limit
	AccessExpiry int64  `json:"access_expiry"`          // epoch ms
	// The subject the tokens stand for, resolved again at every use.
	Username  string `json:"username"`
	Realm     string `json:"realm"`
	RealmType string `json:"realm_type"`
	APIKeyID  string `json:"api_key_id,omitempty"`
	// Client is who asked for the tokens; only it may refresh them.
	Client             string `json:"client"`
	AccessInvalidated  bool   `json:"access_invalidated,omitempty"`
	RefreshInvalidated bool   `json:"refresh_invalidated,omitempty"`
	// Set once the refresh token is used: when, the salt the new pair was
	// derived with, and the new pair's document id.
	RefreshTime int64  `json:"refresh_time,omitempty"`
	RefreshSalt string `json:"refresh_salt,omitempty"`
	Superseding string `json:"superseding,omitempty"`
	ModIndex    uint64 `json:"mod_index"`
}

// TokenIssuedV1 stores a new token pair.
type TokenIssuedV1 struct {
	Pair TokenPair `json:"pair"`
}

// EventType implements Payload.
func (TokenIssuedV1) EventType() (EventType, uint8) { return TokenIssued, 1 }

// TokenIssuedV2 is TokenIssuedV1 in the compact encoding (event_binary.go).
type TokenIssuedV2 TokenIssuedV1

// EventType implements Payload.
func (TokenIssuedV2) EventType() (EventType, uint8) { return TokenIssued, 2 }

// TokenRefreshedV1 uses a refresh token. The first use in log order wins:
// it stores NewPair and Salt. A later use within RefreshWindow of the first
// is answered from the stored salt, so every caller gets the same new pair.
type TokenRefreshedV1 struct {
	DocID   string    `json:"doc_id"`
	Time    int64     `json:"time"`
	Salt    string    `json:"salt"`
	NewPair TokenPair `json:"new_pair"`
}

// EventType implements Payload.
func (TokenRefreshedV1) EventType() (EventType, uint8) { return TokenRefreshed, 1 }

// TokenRefreshedV2 is TokenRefreshedV1 in the compact encoding.
type TokenRefreshedV2 TokenRefreshedV1

// EventType implements Payload.
func (TokenRefreshedV2) EventType() (EventType, uint8) { return TokenRefreshed, 2 }

// TokenInvalidation names one token of a pair.
type TokenInvalidation struct {
	DocID   string `json:"doc_id"`
	Refresh bool   `json:"refresh"` // the refresh token, else the access token
}

// TokensInvalidatedV1 invalidates access and refresh tokens.
type TokensInvalidatedV1 struct {
	Tokens []TokenInvalidation `json:"tokens"`
}

// EventType implements Payload.
func (TokensInvalidatedV1) EventType() (EventType, uint8) { return TokensInvalidated, 1 }

// TokensInvalidatedV2 is TokensInvalidatedV1 in the compact encoding.
type TokensInvalidatedV2 TokensInvalidatedV1

// EventType implements Payload.
func (TokensInvalidatedV2) EventType() (EventType, uint8) { return TokensInvalidated, 2 }

// TokensPurgedV1 removes pairs that can no longer be used or refreshed.
type TokensPurgedV1 struct {
	Before int64 `json:"before"`
}

// EventType implements Payload.
func (TokensPurgedV1) EventType() (EventType, uint8) { return TokensPurged, 1 }

// Refresh outcomes, as the Status of a TokenRefreshed result.
const (
	RefreshDone    = Created       // this use won; NewPair was stored
	RefreshReused  = Unchanged     // an earlier use won within the window
	RefreshTooLate = AlreadyExists // refreshed more than 30 s before
	RefreshDenied  = NotFound      // unknown, invalidated or expired
)

func applyTokenIssuedV2(s *State, index uint64, p TokenIssuedV2) Result {
	return applyTokenIssuedV1(s, index, TokenIssuedV1(p))
}

func applyTokenRefreshedV2(s *State, index uint64, p TokenRefreshedV2) Result {
	return applyTokenRefreshedV1(s, index, TokenRefreshedV1(p))
}

func applyTokensInvalidatedV2(s *State, index uint64, p TokensInvalidatedV2) Result {
	return applyTokensInvalidatedV1(s, index, TokensInvalidatedV1(p))
}

func applyTokenIssuedV1(s *State, index uint64, p TokenIssuedV1) Result {
	if _, exists := s.tokens.get(p.Pair.DocID); exists {
		return Result{Status: AlreadyExists}
	}
	s.tokens.put(p.Pair.stored(index))
	return Result{Status: Created}
}

func applyTokenRefreshedV1(s *State, index uint64, p TokenRefreshedV1) Result {
	old, ok := s.tokens.get(p.DocID)
	switch {
	case !ok || old.RefreshHash == "" || old.RefreshInvalidated || p.Time >= old.GrantTime+RefreshLifetime:
		return Result{Status: RefreshDenied}
	case old.Superseding == "" && s.tokens.has(p.NewPair.DocID):
		return Result{Status: RefreshDenied} // never overwrite a stored pair
	case old.Superseding != "":
		if d := p.Time - old.RefreshTime; d > RefreshWindow || d < -RefreshWindow {
			return Result{Status: RefreshTooLate}
		}
		return Result{Status: RefreshReused}
	}
	used := *old
	used.RefreshTime, used.RefreshSalt, used.Superseding, used.ModIndex = p.Time, p.Salt, p.NewPair.DocID, index
	s.tokens.put(&used)
	s.tokens.put(p.NewPair.stored(index))
	return Result{Status: RefreshDone}
}

func applyTokensInvalidatedV1(s *State, index uint64, p TokensInvalidatedV1) Result {
	res := Result{Status: Updated, Items: map[string]Status{}}
	for _, t := range p.Tokens {
		key := t.DocID + "/access"
		if t.Refresh {
			key = t.DocID + "/refresh"
		}
		old, ok := s.tokens.get(t.DocID)
		switch {
		case !ok || (t.Refresh && old.RefreshHash == ""):
			res.Items[key] = NotFound
		case (t.Refresh && old.RefreshInvalidated) || (!t.Refresh && old.AccessInvalidated):
			res.Items[key] = Unchanged
		default:
			pair := *old
			if t.Refresh {
				pair.RefreshInvalidated = true
			} else {
				pair.AccessInvalidated = true
			}
			pair.ModIndex = index
			s.tokens.put(&pair)
			res.Items[key] = Updated
		}
	}
	return res
}

func applyTokensPurgedV1(s *State, _ uint64, p TokensPurgedV1) Result {
	return deletedItems(s.tokens.deleteIf(func(t *TokenPair) bool {
		return t.GrantTime+RefreshLifetime < p.Before && t.AccessExpiry < p.Before
	}))
}

// Token returns the pair stored under a document id (immutable).
func (s *State) Token(docID string) (*TokenPair, bool) {
	s.mu.RLock()
	t, ok := s.tokens.get(docID)
	s.mu.RUnlock()
	return t, ok
}

// Tokens returns the pairs for which keep is true, ordered by document id.
func (s *State) Tokens(keep func(*TokenPair) bool) []*TokenPair {
	s.mu.RLock()
	out := s.tokens.filter(keep)
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b *TokenPair) int { return strings.Compare(a.DocID, b.DocID) })
	return out
}

// stored is a new pair as the state keeps it: written at index, with one
// copy of the strings most pairs share.
func (t TokenPair) stored(index uint64) *TokenPair {
	t.ModIndex = index
	t.Username, t.Client = unique.Make(t.Username).Value(), unique.Make(t.Client).Value()
	t.Realm, t.RealmType = unique.Make(t.Realm).Value(), unique.Make(t.RealmType).Value()
	return &t
}

// captureTokenPairs writes the pairs as binary records by document id.
func captureTokenPairs(s *State) recordWriter {
	pairs := s.tokens.copyAll()
	return func(sw *snapshotWriter) {
		// Sorted here, outside the lock the capture holds while every
		// write waits.
		slices.SortFunc(pairs, func(a, b *TokenPair) int { return strings.Compare(a.DocID, b.DocID) })
		for _, t := range pairs {
			encodeTokenPair(sw.binaryBody(), t)
			sw.frame(recTokenPair, sw.bin.b)
		}
	}
}

// restoreTokenPair reads a binary record, or the JSON of version 1.
func restoreTokenPair(s *State, body []byte, r *restoring) error {
	t := new(TokenPair)
	var err error
	if r.version == 1 {
		err = json.Unmarshal(body, t)
	} else {
		t, err = decodeTokenPair(body)
	}
	if err != nil {
		return err
	}
	s.tokens.put(t)
	return nil
}
