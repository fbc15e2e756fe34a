package throttle

import (
	"math"
	"net/netip"
	"slices"
)

// knownSet remembers the networks each user's password was right from.
// Only a right password adds to it, so an attacker cannot flush it.
type knownSet struct {
	per, max int
	ttl      int64
	m        map[string][]knownAddr
}

type knownAddr struct {
	net  netip.Prefix
	seen int64
}

func (k *knownSet) lastSeen(u string, p netip.Prefix) (int64, bool) {
	for _, a := range k.m[u] {
		if a.net == p {
			return a.seen, true
		}
	}
	return 0, false
}

func (k *knownSet) has(u string, p netip.Prefix, now int64) bool {
	seen, ok := k.lastSeen(u, p)
	return ok && now-seen < k.ttl
}

func (k *knownSet) add(u string, p netip.Prefix, now int64) {
	list, ok := k.m[u]
	if !ok && len(k.m) >= k.max {
		k.evict(now)
	}
	for i := range list {
		if list[i].net == p {
			list[i].seen = now
			return
		}
	}
	list = slices.DeleteFunc(list, func(a knownAddr) bool { return now-a.seen >= k.ttl })
	if len(list) >= k.per {
		oldest := 0
		for i := range list {
			if list[i].seen < list[oldest].seen {
				oldest = i
			}
		}
		list = slices.Delete(list, oldest, oldest+1)
	}
	k.m[u] = append(list, knownAddr{p, now})
}

func latest(list []knownAddr) int64 {
	t := int64(math.MinInt64)
	for _, a := range list {
		t = max(t, a.seen)
	}
	return t
}

// evict drops users none of whose networks is still known, then those
// seen least recently.
func (k *knownSet) evict(now int64) {
	shrink(k.m, k.max, latest, func(seen int64) bool { return now-seen >= k.ttl })
}
