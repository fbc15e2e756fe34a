package authn

import (
	"slices"
	"strconv"
	"strings"
)

// esPasswordHashers are Elasticsearch's password hashers
// (Hasher.getAvailableAlgoStoredPasswordHash), in its order: the hashes put
// user and change password take whatever algorithm the node hashes with.
var esPasswordHashers = func() []string {
	out := []string{"bcrypt"}
	for c := 4; c <= 14; c++ {
		out = append(out, "bcrypt"+strconv.Itoa(c))
	}
	for _, family := range []string{"pbkdf2", "pbkdf2_stretch"} {
		out = append(out, family)
		for _, n := range esPBKDF2Iterations {
			out = append(out, family+"_"+strconv.Itoa(n))
		}
	}
	return out
}()

var esPBKDF2Iterations = []int{1000, 10000, 50000, 100000, 500000, 1000000}

// supportedHashers is the list Elasticsearch's refusal names.
var supportedHashers = "[" + strings.Join(esPasswordHashers, ", ") + "]"

// esHasherOf is Elasticsearch's Hasher.resolveFromHash for the password
// families: the hasher a prehashed password names, by its prefix and cost;
// false when Elasticsearch would resolve none of its password hashers
// (SSHA256, SHA1, MD5 and clear text are not password hashers).
func esHasherOf(hash string) (string, bool) {
	family, cost, ok := hashCost(hash)
	if !ok {
		return "", false
	}
	switch family {
	case "bcrypt":
		// $2a$, $2b$ or $2y$, as BCrypt.valid_minor.
		if len(hash) < 4 || hash[3] != '$' || !strings.ContainsRune("aby", rune(hash[2])) || cost < 4 || cost > 14 {
			return "", false
		}
		if cost == 10 {
			return "bcrypt", true
		}
		return "bcrypt" + strconv.Itoa(cost), true
	default:
		if !slices.Contains(esPBKDF2Iterations, cost) {
			return "", false
		}
		if cost == 10000 {
			return family, true
		}
		return family + "_" + strconv.Itoa(cost), true
	}
}

// acceptsPrehashed reports whether put user or change password take a
// password_hash, before the cost limit: any of Elasticsearch's password
// hashers, or this node's own algorithm (whose iterations may be a
// multiple of 1000 Elasticsearch has no hasher for).
func (h Hasher) acceptsPrehashed(hash string) bool {
	if _, ok := esHasherOf(hash); ok {
		return true
	}
	family, cost, ok := hashCost(hash)
	return ok && family == h.family && cost == h.cost
}
