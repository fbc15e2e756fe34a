package authn

import (
	"testing"
	"time"
)

func TestVerifyCache(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	clock := func() time.Time { return now }
	auth := &Authentication{Username: "joe"}
	c := newVerifyCache[uint64](time.Minute, 2)
	c.put("joe", 7, []byte("right"), auth, clock)
	cases := []struct {
		name    string
		version uint64
		secret  string
		after   time.Duration
		want    *Authentication
	}{
		{"same secret and version", 7, "right", 0, auth},
		{"another secret", 7, "wrong", 0, nil},
		{"another version", 8, "right", 0, nil},
		{"expired", 7, "right", 2 * time.Minute, nil},
	}
	for _, tc := range cases {
		now = time.Unix(1_700_000_000, 0).Add(tc.after)
		if got := c.get("joe", tc.version, []byte(tc.secret), clock); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	now = time.Unix(1_700_000_000, 0)
	c.remove("joe")
	if got := c.get("joe", 7, []byte("right"), clock); got != nil {
		t.Errorf("after remove: got %v, want nil", got)
	}
	for i, k := range []string{"a", "b", "c"} {
		c.put(k, uint64(i), nil, auth, clock)
	}
	if len(c.entries) > 2 {
		t.Errorf("got %d entries, cap 2", len(c.entries))
	}

	var disabled *verifyCache[uint64]
	disabled.put("joe", 7, []byte("right"), auth, clock)
	if got := disabled.get("joe", 7, []byte("right"), clock); got != nil {
		t.Errorf("nil cache: got %v, want nil", got)
	}

	built := 0
	forever := newVerifyCache[*int](0, 10)
	v1, v2 := new(int), new(int)
	build := func() *Authentication { built++; return &Authentication{} }
	a1 := forever.getOrBuild("k", v1, build)
	if forever.getOrBuild("k", v1, build) != a1 || built != 1 {
		t.Errorf("same version: built %d times, want 1", built)
	}
	if forever.getOrBuild("k", v2, build) == a1 || built != 2 {
		t.Errorf("new version: built %d times, want 2", built)
	}
}
