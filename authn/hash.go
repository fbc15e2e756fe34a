package authn

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// The stored hash formats, all of Elasticsearch's making:
//   - "{SSHA256}" for generated secrets (API keys, service tokens): they are
//     128 random bits, so guessing one from its hash is as hard as guessing
//     it; a slow KDF protects low-entropy passwords and buys nothing here but
//     latency. Elasticsearch defaults to PBKDF2 for the stored hash and keeps
//     a salted SHA-256 in its cache; this service stores that salted SHA-256.
//   - the unsalted SHA-256 of an access or refresh token's random bytes;
//   - bcrypt, "{PBKDF2}" and "{PBKDF2_STRETCH}" for passwords (and the
//     service_tokens file), whose algorithm Hasher chooses;
//   - the salted digest the verification cache keeps of a verified secret.

// hashSSHA256 is Elasticsearch's SSHA256: "{SSHA256}" + B64(8-byte salt) +
// B64(SHA-256(secret || salt)).
func hashSSHA256(secret string) string {
	salt := make([]byte, 8)
	rand.Read(salt)
	sum := sha256.Sum256(append([]byte(secret), salt...))
	return "{SSHA256}" + base64.StdEncoding.EncodeToString(salt) + base64.StdEncoding.EncodeToString(sum[:])
}

// checkSSHA256 compares a presented secret with a decoded hash in constant
// time, without allocating for secrets of ordinary length.
func checkSSHA256(secret, salt, digest []byte) bool {
	if len(digest) != sha256.Size {
		return false
	}
	var buf [256]byte
	var sum [32]byte
	if len(secret)+len(salt) <= len(buf) {
		n := copy(buf[:], secret)
		n += copy(buf[n:], salt)
		sum = sha256.Sum256(buf[:n])
	} else {
		sum = sha256.Sum256(append(slices.Clone(secret), salt...))
	}
	return subtle.ConstantTimeCompare(sum[:], digest) == 1
}

// verifySSHA256String checks a secret against an "{SSHA256}" hash string.
func verifySSHA256String(secret []byte, hash string) bool {
	salt, digest := parseSSHA256(hash)
	return checkSSHA256(secret, salt, digest)
}

// parseSSHA256 splits an "{SSHA256}" hash (12 base64 characters of 8-byte
// salt, then the base64 SHA-256 of secret||salt); nil for other formats.
func parseSSHA256(hash string) (salt, digest []byte) {
	rest, ok := strings.CutPrefix(hash, "{SSHA256}")
	if !ok || len(rest) < 12 {
		return nil, nil
	}
	salt, err1 := base64.StdEncoding.DecodeString(rest[:12])
	digest, err2 := base64.StdEncoding.DecodeString(rest[12:])
	if err1 != nil || err2 != nil || len(digest) != sha256.Size {
		return nil, nil
	}
	return salt, digest
}

// tokenHash is the stored form of an access or refresh token.
func tokenHash(raw []byte) string {
	sum := sha256.Sum256(raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// hashMatches checks a token's raw bytes against its stored hash.
func hashMatches(raw []byte, stored string) bool {
	want := tokenHash(raw)
	return stored != "" && subtle.ConstantTimeCompare([]byte(want), []byte(stored)) == 1
}

// saltedDigest is what the verification cache keeps of a verified secret:
// SHA-256(salt || secret), without allocating for secrets of ordinary length.
func saltedDigest(salt *[16]byte, secret []byte) [32]byte {
	var buf [256]byte
	if len(secret) <= len(buf)-len(salt) {
		n := copy(buf[:], salt[:])
		n += copy(buf[n:], secret)
		return sha256.Sum256(buf[:n])
	}
	h := sha256.New()
	h.Write(salt[:])
	h.Write(secret)
	var out [32]byte
	h.Sum(out[:0])
	return out
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
