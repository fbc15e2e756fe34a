package node

import (
	"runtime/debug"
	"strings"
	"sync"
)

// BuildVersion names the build this node runs, for the membership view:
// the module version (a tag, or "(devel)") and the commit it was built
// from, as the Go toolchain stamped them into the binary. A test binary
// is not stamped: in-process nodes under go test report "(devel)".
var BuildVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	return buildVersion(info)
})

// buildVersion is the module version with the commit appended, unless the
// version names it already: since Go 1.24 go build stamps a pseudo-version
// ending in the commit (and "+dirty" for a modified tree).
func buildVersion(info *debug.BuildInfo) string {
	v, rev, dirty := info.Main.Version, "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value[:min(len(s.Value), 12)]
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if v == "" {
		v = "(devel)"
	}
	if rev != "" && !strings.Contains(v, rev) {
		v += "+" + rev
		if dirty {
			v += ".dirty"
		}
	}
	return v
}
