package node

import (
	"runtime/debug"
	"sync"
)

// BuildVersion names the build this node runs, for the membership view:
// the module version (a tag, or "(devel)") and the commit it was built
// from, as the Go toolchain stamped them into the binary.
var BuildVersion = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
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
	if rev != "" {
		v += "+" + rev
		if dirty {
			v += ".dirty"
		}
	}
	return v
})
