package authn

import "context"

// RecordUsesNow runs one round of recording API key uses, as the leader
// does every interval, without waiting for it.
func (s *Service) RecordUsesNow(ctx context.Context, members KeyUsageGatherer) {
	s.recordUses(ctx, members.GatherKeyUsage(ctx))
}
