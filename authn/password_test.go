package authn

import (
	"strings"
	"testing"
)

func TestHasherRoundTrip(t *testing.T) {
	for _, alg := range []string{"bcrypt4", "pbkdf2_1000", "pbkdf2_stretch_1000"} {
		t.Run(alg, func(t *testing.T) {
			h, err := NewHasher(alg)
			if err != nil {
				t.Fatal(err)
			}
			hash, err := h.Hash([]byte("s3cret-pass"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(hash, "s3cret-pass") {
				t.Fatalf("hash %q contains the password", hash)
			}
			if !VerifyPassword([]byte("s3cret-pass"), hash) {
				t.Fatalf("right password rejected for %s", hash)
			}
			if VerifyPassword([]byte("s3cret-pasS"), hash) {
				t.Fatalf("wrong password accepted for %s", hash)
			}
			if !h.acceptsPrehashed(hash) {
				t.Fatalf("hasher does not accept its own hash %s", hash)
			}
		})
	}
}

func TestNewHasherRejects(t *testing.T) {
	for _, alg := range []string{"", "md5", "bcrypt3", "bcrypt99", "pbkdf2_1500", "pbkdf2_x", "sha256"} {
		if _, err := NewHasher(alg); err == nil {
			t.Errorf("NewHasher(%q) = nil error, want an error", alg)
		}
	}
}

// Elasticsearch compares a hash without a known prefix as clear text; this
// service must not, since it never stores clear text.
func TestVerifyPasswordUnknownPrefixIsNotClearText(t *testing.T) {
	if VerifyPassword([]byte("password"), "password") {
		t.Fatal("a clear-text stored value was accepted")
	}
}

func TestCostLimit(t *testing.T) {
	bcrypt4, _ := NewHasher("bcrypt4")
	bcrypt12, _ := NewHasher("bcrypt12")
	pbkdf2, _ := NewHasher("pbkdf2_50000")
	for _, tc := range []struct {
		name            string
		h               Hasher
		maxBcrypt, maxN int
		want            costLimit
	}{
		{"bcrypt: its own cost, the PBKDF2 default", bcrypt12, 0, 0, costLimit{12, 10_000}},
		{"pbkdf2: its own iterations, the bcrypt default", pbkdf2, 0, 0, costLimit{10, 50_000}},
		{"a maximum raises the limit", bcrypt4, 8, 100_000, costLimit{8, 100_000}},
		{"never below the algorithm's own cost", bcrypt12, 6, 0, costLimit{12, 10_000}},
		{"never beyond what a hash can name", bcrypt4, 99, 1 << 40, costLimit{31, maxPBKDF2Iterations}},
	} {
		if got := newCostLimit(tc.h, tc.maxBcrypt, tc.maxN); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
	l := costLimit{bcrypt: 10, pbkdf2: 10_000}
	salt := "c2FsdHNhbHRzYWx0c2FsdA=="                                       // 16 bytes
	dk := "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=" // 47 bytes
	for hash, want := range map[string]bool{
		"$2a$10$" + strings.Repeat("a", 53):                       true,
		"$2a$11$" + strings.Repeat("a", 53):                       false,
		"$2a$31$" + strings.Repeat("a", 53):                       false,
		"{PBKDF2}10000$" + salt + "$" + dk:                        true,
		"{PBKDF2_STRETCH}10001$" + salt + "$" + dk:                false,
		"{PBKDF2}1000$" + salt + "$" + strings.Repeat("QUFB", 22): false, // a 66-byte key is two blocks of work
		"{PBKDF2}1000$c2FsdA==$" + dk:                             false, // a 4-byte salt
		"plain text":                                              false,
	} {
		if got := l.allows(hash); got != want {
			t.Errorf("allows(%.40q) = %v, want %v", hash, got, want)
		}
	}
}
