package authn

import (
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var lineNumber = regexp.MustCompile(`^line ([0-9]+): `)

// FuzzParseServiceTokensFile: no panic; every error names a line of the
// input, and never the hash; what parses formats and parses back the same.
func FuzzParseServiceTokensFile(f *testing.F) {
	for _, seed := range []string{
		"elastic/fleet-server/token1:{PBKDF2_STRETCH}10000$8QN+dlA7gPmHhxx6Y2xO0eBFvjmfP8RLPuHOnthvr+U=$bkw+nb3n3Ouk+vpBOVFIyUZF0+g3jeVxHNTdLUCMDXE=\n",
		"# comment\n\n  elastic/kibana/t2:{SSHA256}AAAA  \r\nelastic/fleet-server/t3:x\n",
		"elastic/fleet-server/t1:a\nelastic/fleet-server/t1:b\n",
		"elastic/fleet-server:hash\n", "elastic/fleet-server/_bad:hash\n", "no colon at all\n", "a/b/c:\n",
		"a/b/c:h\x00\xff", "",
		// A line past the scanner's limit once failed without a line number.
		"a/b/c:h\n" + strings.Repeat("x", 1<<20+1),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ft, err := ParseServiceTokensFile(data)
		if err != nil {
			m := lineNumber.FindStringSubmatch(err.Error())
			if m == nil {
				t.Fatalf("error without a line number: %v", err)
			}
			if n, _ := strconv.Atoi(m[1]); n < 1 || n > strings.Count(string(data), "\n")+1 {
				t.Fatalf("line %d of a %d-line input", n, strings.Count(string(data), "\n")+1)
			}
			for _, line := range strings.Split(string(data), "\n") {
				q, hash, _ := strings.Cut(strings.TrimSpace(line), ":")
				if len(hash) >= 8 && !strings.Contains(q, hash) && strings.Contains(err.Error(), hash) {
					t.Fatalf("error shows a hash: %v", err)
				}
			}
			return
		}
		again, err := ParseServiceTokensFile(ft.Format())
		if err != nil || !maps.Equal(again, ft) {
			t.Fatalf("format then parse: %v (%v), want %v", again, err, ft)
		}
	})
}
