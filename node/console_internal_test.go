package node

import "testing"

func TestReadableContact(t *testing.T) {
	for in, want := range map[string]string{"6.427122ms": "6ms", "1.5s": "1.5s", "2m3.4567s": "2m3.457s", "never": "never", "0": "0", "512µs": "512µs"} {
		if got := readableContact(in); got != want {
			t.Errorf("readableContact(%q) = %q, want %q", in, got, want)
		}
	}
}
