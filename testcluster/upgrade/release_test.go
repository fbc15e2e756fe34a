package upgrade

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// previousRelease is the release a rolling upgrade starts from: the first
// that registers its event versions. Raise it with each release.
const previousRelease = "v0.1.0"

// git runs git in dir and returns its trimmed output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// findRelease returns the repository's root with the release tag present:
// the local tag, else fetched from the remotes the clone came from (CI
// clones may leave tags out). Without it the test fails: an upgrade test
// that cannot find the previous release proves nothing.
func findRelease(t *testing.T) string {
	t.Helper()
	root, err := git(".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatalf("the upgrade test needs the git repository of this source: %v: %s", err, root)
	}
	ref := "refs/tags/" + previousRelease
	if _, err := git(root, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err == nil {
		return root
	}
	remotes, _ := git(root, "remote")
	var tried []string
	for _, remote := range strings.Fields(remotes) {
		out, err := git(root, "fetch", "--no-recurse-submodules", remote, "+"+ref+":"+ref)
		if err == nil {
			if _, err := git(root, "rev-parse", "--verify", "--quiet", ref+"^{commit}"); err == nil {
				return root
			}
		}
		tried = append(tried, remote+": "+out)
	}
	t.Fatalf("tag %s (the previous release) is neither in this clone nor fetchable from its remotes %v: fetch it (git fetch --tags) and run again", previousRelease, tried)
	return ""
}

// buildRelease builds the previous release's binary from its tagged source
// (git archive into a temporary directory; the module cache serves its
// dependencies) and this source's binary.
func buildRelease(t *testing.T, dir string) (oldBin, newBin string) {
	t.Helper()
	root := findRelease(t)
	src := filepath.Join(dir, "src-"+previousRelease)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("git", "archive", "--format=tar", previousRelease)
	archive.Dir = root
	extract := exec.Command("tar", "-x", "-C", src)
	pipe, err := archive.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	extract.Stdin = pipe
	var archErr, extErr bytes.Buffer
	archive.Stderr, extract.Stderr = &archErr, &extErr
	if err := extract.Start(); err != nil {
		t.Fatal(err)
	}
	if err := archive.Run(); err != nil {
		t.Fatalf("git archive %s: %v: %s", previousRelease, err, archErr.String())
	}
	if err := extract.Wait(); err != nil {
		t.Fatalf("extract %s: %v: %s", previousRelease, err, extErr.String())
	}
	oldBin, newBin = filepath.Join(dir, "tokenstore-"+previousRelease), filepath.Join(dir, "tokenstore-new")
	goBuild(t, src, oldBin)
	goBuild(t, root, newBin)
	return oldBin, newBin
}

func goBuild(t *testing.T, dir, out string) {
	t.Helper()
	build := exec.Command("go", "build", "-o", out, "./cmd/tokenstore")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, b)
	}
}
