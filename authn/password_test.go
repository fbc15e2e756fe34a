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
			if !h.Accepts(hash) {
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
