package authn

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestPrehashedFormats: put user takes a hash of any of Elasticsearch's
// password hashers, whatever this node hashes with, within the cost limit.
func TestPrehashedFormats(t *testing.T) {
	b4, _ := NewHasher("bcrypt4")
	p1000, _ := NewHasher("pbkdf2_1000")
	p2000, _ := NewHasher("pbkdf2_2000") // a cost Elasticsearch has no hasher for
	hashOf := func(alg string) string {
		h, err := NewHasher(alg)
		if err != nil {
			t.Fatal(err)
		}
		s, err := h.Hash([]byte("s3cret-pass"))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b2a, _ := bcrypt.GenerateFromPassword([]byte("s3cret-pass"), 4)
	b2b := "$2b$" + string(b2a[4:])
	b2y := "$2y$" + string(b2a[4:])
	b2x := "$2x$" + string(b2a[4:])
	pb1000, pbs1000, pb2000 := hashOf("pbkdf2_1000"), hashOf("pbkdf2_stretch_1000"), hashOf("pbkdf2_2000")
	for _, tc := range []struct {
		name, hash string
		h          Hasher
		want       bool
	}{
		{"bcrypt $2a$ on a pbkdf2 node", string(b2a), p1000, true},
		{"bcrypt $2b$", b2b, p1000, true},
		{"bcrypt $2y$", b2y, p1000, true},
		{"bcrypt $2x$ is no Elasticsearch minor", b2x, p1000, false},
		{"pbkdf2 on a bcrypt node", pb1000, b4, true},
		{"pbkdf2_stretch on a bcrypt node", pbs1000, b4, true},
		{"pbkdf2_2000 on a node hashing so", pb2000, p2000, true},
		{"pbkdf2_2000 elsewhere", pb2000, b4, false},
		{"ssha256 is no password hasher", hashSSHA256("x"), b4, false},
		{"clear text", "s3cret-pass", b4, false},
	} {
		if got := tc.h.acceptsPrehashed(tc.hash); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
		if tc.want && !VerifyPassword([]byte("s3cret-pass"), tc.hash) {
			t.Errorf("%s: accepted but does not verify", tc.name)
		}
	}
	if !strings.HasPrefix(supportedHashers, "[bcrypt, bcrypt4, ") || !strings.HasSuffix(supportedHashers, ", pbkdf2_stretch_1000000]") ||
		len(esPasswordHashers) != 26 {
		t.Errorf("supported list: %s", supportedHashers)
	}
}
