package authn

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/tokenstore/tokenstore/fsm"
)

// authorizeForwardedProfile is the leader's check of a forwarded profile
// activation: the caller needs manage_user_profile, and the profile must be
// the one the public API writes for the user whose credential (password or
// access token) came along, as that user is on the leader; nothing in it is
// the caller's choice.
func (s *Service) authorizeForwardedProfile(ctx context.Context, c Caller, subject string, body []byte) error {
	if err := s.Authorize(c, actionProfileActivate); err != nil {
		return err
	}
	var p fsm.ProfileActivatedV1
	if err := json.Unmarshal(body, &p); err != nil {
		return err
	}
	who, err := s.authenticateSubject(ctx, subject)
	if err != nil {
		return err
	}
	pr := p.Profile
	if who.APIKey != nil || who.Realm == ServiceAccountRealm || pr.UID != ProfileUID(who.Username) || pr.Username != who.Username ||
		pr.RealmName != who.Realm.Name || pr.RealmType != who.Realm.Type || !slices.Equal(pr.Roles, who.Roles) && len(pr.Roles)+len(who.Roles) > 0 ||
		!equalPtr(pr.FullName, who.FullName) || !equalPtr(pr.Email, who.Email) || !s.timely(pr.LastSynchronized, maxTokenClockSkew) ||
		len(pr.Labels) > 0 || len(pr.Data) > 0 {
		return errors.New("the activated profile is not the one its subject's credential yields")
	}
	return nil
}

func equalPtr(a, b *string) bool {
	return a == nil && b == nil || a != nil && b != nil && *a == *b
}
