package authn

import (
	"context"
	"time"

	"github.com/tokenstore/tokenstore/fsm"
)

// PurgeConfig is when invalidated and expired API keys are removed:
// xpack.security.authc.api_key.delete.retention_period and .interval.
type PurgeConfig struct {
	Retention time.Duration
	Interval  time.Duration
	// TokenInterval is xpack.security.authc.token.delete.interval: how often
	// token pairs that can no longer be used or refreshed are removed.
	TokenInterval time.Duration
}

// RunPurger removes, every interval while this node leads, the API keys
// that were invalidated or expired longer than the retention period ago.
// The removal is an event, so every node drops the same keys.
func (s *Service) RunPurger(ctx context.Context, cfg PurgeConfig) {
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	tokens := time.NewTicker(cfg.TokenInterval)
	defer tokens.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tokens.C:
			if s.p.IsLeader() {
				s.purgeTokens()
			}
			continue
		case <-t.C:
		}
		if !s.p.IsLeader() {
			continue
		}
		before := s.now().Add(-cfg.Retention).UnixMilli()
		due := s.st.APIKeys(func(k *fsm.APIKey) bool {
			return (k.Invalidated && k.Invalidation < before) || (k.Expiration > 0 && k.Expiration < before)
		})
		if len(due) == 0 {
			continue
		}
		if _, res, err := s.p.ProposeAsLeader(fsm.MustEncode(fsm.APIKeysPurgedV1{Before: before})); err != nil {
			s.log.Warn("api key purge failed", "error", err)
		} else {
			s.log.Info("api keys purged", "count", len(res.Items))
		}
	}
}

// purgeTokens removes token pairs past both their access expiry and the
// refresh lifetime of their grant: nothing can use them any more.
func (s *Service) purgeTokens() {
	before := s.now().UnixMilli()
	due := s.st.Tokens(func(t *fsm.TokenPair) bool {
		return t.GrantTime+fsm.RefreshLifetime < before && t.AccessExpiry < before
	})
	if len(due) == 0 {
		return
	}
	if _, res, err := s.p.ProposeAsLeader(fsm.MustEncode(fsm.TokensPurgedV1{Before: before})); err != nil {
		s.log.Warn("token purge failed", "error", err)
	} else {
		s.log.Info("tokens purged", "count", len(res.Items))
	}
}
