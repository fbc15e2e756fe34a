package authn

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// Hasher hashes user passwords with a slow KDF, in the string formats of
// Elasticsearch's Hasher, so hashes move between the two.
type Hasher struct {
	name   string // the setting value, e.g. "bcrypt" or "pbkdf2_stretch_1000"
	family string // "bcrypt", "pbkdf2" or "pbkdf2_stretch"
	cost   int    // bcrypt cost or PBKDF2 iterations
}

// NewHasher parses xpack.security.authc.password_hashing.algorithm values:
// bcrypt, bcrypt4..bcrypt31, pbkdf2, pbkdf2_N, pbkdf2_stretch, pbkdf2_stretch_N.
func NewHasher(algorithm string) (Hasher, error) {
	a := strings.ToLower(strings.TrimSpace(algorithm))
	bad := fmt.Errorf("unsupported password hashing algorithm [%s]: use bcrypt, bcryptN (4-31), pbkdf2, pbkdf2_N, pbkdf2_stretch or pbkdf2_stretch_N", algorithm)
	switch {
	case a == "bcrypt":
		return Hasher{a, "bcrypt", 10}, nil
	case strings.HasPrefix(a, "bcrypt"):
		c, err := strconv.Atoi(a[len("bcrypt"):])
		if err != nil || c < bcrypt.MinCost || c > bcrypt.MaxCost {
			return Hasher{}, bad
		}
		return Hasher{a, "bcrypt", c}, nil
	case strings.HasPrefix(a, "pbkdf2_stretch"):
		n, err := iterations(a[len("pbkdf2_stretch"):])
		if err != nil {
			return Hasher{}, bad
		}
		return Hasher{a, "pbkdf2_stretch", n}, nil
	case strings.HasPrefix(a, "pbkdf2"):
		n, err := iterations(a[len("pbkdf2"):])
		if err != nil {
			return Hasher{}, bad
		}
		return Hasher{a, "pbkdf2", n}, nil
	}
	return Hasher{}, bad
}

func iterations(suffix string) (int, error) {
	if suffix == "" {
		return 10000, nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(suffix, "_"))
	if err != nil || !strings.HasPrefix(suffix, "_") || n < 1000 || n%1000 != 0 {
		return 0, errors.New("iterations must be a positive multiple of 1000")
	}
	return n, nil
}

// Name is the algorithm setting this hasher was made from.
func (h Hasher) Name() string { return h.name }

// Hash returns the stored form of a password.
func (h Hasher) Hash(password []byte) (string, error) {
	switch h.family {
	case "bcrypt":
		b, err := bcrypt.GenerateFromPassword(bcryptInput(password), h.cost)
		if err != nil {
			return "", fmt.Errorf("bcrypt: %w", err)
		}
		return string(b), nil
	default:
		salt := make([]byte, 32)
		rand.Read(salt)
		prefix, input := "{PBKDF2}", password
		if h.family == "pbkdf2_stretch" {
			prefix, input = "{PBKDF2_STRETCH}", stretch(password)
		}
		dk, err := pbkdf2.Key(sha512.New, string(input), salt, h.cost, 32)
		if err != nil {
			return "", fmt.Errorf("pbkdf2: %w", err)
		}
		return prefix + strconv.Itoa(h.cost) + "$" + base64.StdEncoding.EncodeToString(salt) + "$" + base64.StdEncoding.EncodeToString(dk), nil
	}
}

// costLimit bounds what one verification of a user's stored hash may cost:
// the hash is the user's choice (password_hash), and bcrypt at cost 31
// would hold a core for a day and a half per wrong password.
type costLimit struct {
	bcrypt int // highest bcrypt cost
	pbkdf2 int // most PBKDF2 iterations
}

// newCostLimit is the configured algorithm's own cost for its family and
// Elasticsearch's default cost (bcrypt 10, 10,000 iterations) for the
// other; a positive maximum raises that, never below the algorithm's own
// cost, which would refuse the hashes this node makes.
func newCostLimit(h Hasher, maxBcrypt, maxIterations int) costLimit {
	l := costLimit{bcrypt: 10, pbkdf2: 10_000}
	own := &l.pbkdf2
	if h.family == "bcrypt" {
		own = &l.bcrypt
	}
	*own = h.cost
	if maxBcrypt > 0 {
		l.bcrypt = min(maxBcrypt, bcrypt.MaxCost)
	}
	if maxIterations > 0 {
		l.pbkdf2 = min(maxIterations, maxPBKDF2Iterations)
	}
	*own = max(*own, h.cost)
	return l
}

// allows reports whether hash is a well-formed hash within the limit.
func (l costLimit) allows(hash string) bool {
	family, cost, ok := hashCost(hash)
	if !ok {
		return false
	}
	if family == "bcrypt" {
		return cost <= l.bcrypt
	}
	return cost <= l.pbkdf2
}

// describe names the limit of a family for error messages.
func (l costLimit) describe(family string) string {
	if family == "bcrypt" {
		return fmt.Sprintf("a bcrypt cost of at most [%d]", l.bcrypt)
	}
	return fmt.Sprintf("at most [%d] PBKDF2 iterations", l.pbkdf2)
}
