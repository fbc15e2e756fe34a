package node

import (
	"runtime/debug"
	"testing"
)

// The version names the commit once, whether the toolchain put it in the
// module version (go build since Go 1.24) or only in the vcs settings.
func TestBuildVersionNamesTheCommitOnce(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "08ffc7c76ada0fd814c1951799cdece6d928331e"}, {Key: "vcs.modified", Value: modified}}
	}
	for _, c := range []struct {
		version  string
		settings []debug.BuildSetting
		want     string
	}{
		{"v0.1.1-0.20261206023648-08ffc7c76ada", vcs("false"), "v0.1.1-0.20261206023648-08ffc7c76ada"},
		{"v0.1.1-0.20261206023648-08ffc7c76ada+dirty", vcs("true"), "v0.1.1-0.20261206023648-08ffc7c76ada+dirty"},
		{"v0.2.0", vcs("false"), "v0.2.0+08ffc7c76ada"},
		{"(devel)", vcs("true"), "(devel)+08ffc7c76ada.dirty"},
		{"(devel)", nil, "(devel)"},
		{"", nil, "(devel)"},
	} {
		info := &debug.BuildInfo{Main: debug.Module{Path: "github.com/tokenstore/tokenstore", Version: c.version}, Settings: c.settings}
		if got := buildVersion(info); got != c.want {
			t.Errorf("version %q: got %q, want %q", c.version, got, c.want)
		}
	}
}
