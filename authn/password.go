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
		b, err := bcrypt.GenerateFromPassword(password, h.cost)
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
	switch h.family {
	case "bcrypt":
		_, err := bcrypt.Cost([]byte(hash))
		return err == nil
	case "pbkdf2_stretch":
		_, _, _, ok := parsePBKDF2(hash, "{PBKDF2_STRETCH}")
		return ok
	default:
		_, _, _, ok := parsePBKDF2(hash, "{PBKDF2}")
		return ok
	}
}

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
	if err != nil || iter < 1 || iter > 10_000_000 {
		return 0, nil, nil, false
	}
	salt, err1 := base64.StdEncoding.DecodeString(parts[1])
	dk, err2 := base64.StdEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(dk) == 0 {
		return 0, nil, nil, false
	}
	return iter, salt, dk, true
}

// VerifyPassword checks a password against a stored hash of any supported
// format, choosing the algorithm from the hash's prefix. Comparisons are
// constant-time.
func VerifyPassword(password []byte, hash string) bool {
	switch {
	case strings.HasPrefix(hash, "$2"):
		return bcrypt.CompareHashAndPassword([]byte(hash), password) == nil
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
