package authn

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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

// Accepts reports whether a prehashed password_hash is in this hasher's
// family, as Elasticsearch requires for put user and change password.
func (h Hasher) Accepts(hash string) bool {
	family, _, ok := hashCost(hash)
	return ok && family == h.family
}

// hashCost reads the family of a stored hash and what it costs to verify:
// the bcrypt cost (2^cost rounds) or the PBKDF2 iterations.
func hashCost(hash string) (family string, cost int, ok bool) {
	switch {
	case strings.HasPrefix(hash, "$2"):
		c, err := bcrypt.Cost([]byte(hash))
		return "bcrypt", c, err == nil
	case strings.HasPrefix(hash, "{PBKDF2_STRETCH}"):
		iter, _, _, ok := parsePBKDF2(hash, "{PBKDF2_STRETCH}")
		return "pbkdf2_stretch", iter, ok
	case strings.HasPrefix(hash, "{PBKDF2}"):
		iter, _, _, ok := parsePBKDF2(hash, "{PBKDF2}")
		return "pbkdf2", iter, ok
	}
	return "", 0, false
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

// bcryptInput is what bcrypt hashes of a password: its first 72 bytes, as
// Elasticsearch's bcrypt uses (Go's refuses longer input, which would turn a
// long password into a 500 and lock out users whose hashes came from
// Elasticsearch).
func bcryptInput(password []byte) []byte { return password[:min(len(password), 72)] }

func stretch(password []byte) []byte {
	sum := sha512.Sum512(password)
	return []byte(hex.EncodeToString(sum[:]))
}

func parsePBKDF2(hash, prefix string) (iter int, salt, dk []byte, ok bool) {
	rest, found := strings.CutPrefix(hash, prefix)
	if !found {
		return 0, nil, nil, false
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 3 {
		return 0, nil, nil, false
	}
	iter, err := strconv.Atoi(parts[0])
	if err != nil || iter < 1 || iter > maxPBKDF2Iterations {
		return 0, nil, nil, false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[1])
	dk, err2 := base64.StdEncoding.DecodeString(parts[2])
	// Every 64 bytes of derived key cost the iterations once more, so a
	// long one would multiply the cost the iterations show: one SHA-512
	// block at most (Elasticsearch makes 32 bytes). A salt is hashed once
	// per verification; Elasticsearch wants at least 8 bytes.
	if err1 != nil || err2 != nil || len(dk) == 0 || len(dk) > sha512.Size || len(salt) < 8 || len(salt) > 1024 {
		return 0, nil, nil, false
	}
	return iter, salt, dk, true
}

// maxPBKDF2Iterations is the most any PBKDF2 hash may name, whatever the
// settings (Elasticsearch's largest is 1,000,000).
const maxPBKDF2Iterations = 10_000_000

// VerifyPassword checks a password against a stored hash of any supported
// format, choosing the algorithm from the hash's prefix. Comparisons are
// constant-time.
func VerifyPassword(password []byte, hash string) bool {
	switch {
	case strings.HasPrefix(hash, "$2"):
		return bcrypt.CompareHashAndPassword([]byte(hash), bcryptInput(password)) == nil
	case strings.HasPrefix(hash, "{PBKDF2_STRETCH}"):
		return verifyPBKDF2(stretch(password), hash, "{PBKDF2_STRETCH}")
	case strings.HasPrefix(hash, "{PBKDF2}"):
		return verifyPBKDF2(password, hash, "{PBKDF2}")
	}
	// Unlike Elasticsearch, an unrecognised hash is never compared as clear
	// text: nothing this service stores is clear text.
	return false
}

func verifyPBKDF2(input []byte, hash, prefix string) bool {
	iter, salt, want, ok := parsePBKDF2(hash, prefix)
	if !ok {
		return false
	}
	got, err := pbkdf2.Key(sha512.New, string(input), salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
