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
// that registers its event versions. Raise both with each release. The test
// builds the commit, not the tag: tags do not travel with every clone (CI's
// did not), and the commit is on main's history.
const (
	previousRelease       = "v0.1.0"
	previousReleaseCommit = "a8d7eac13bb8fdb810dad013cec94a8b8b8ef13e"
)

// git runs git in dir and returns its trimmed output.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// findRelease returns the repository's root with the release's commit
// present: in this clone's history, else fetched from the remotes the clone
// came from (a shallow clone may lack it). Without it the test fails: an
// upgrade test that cannot find the previous release proves nothing.
func findRelease(t *testing.T) string {
	t.Helper()
	root, err := git(".", "rev-parse", "--show-toplevel")
	if err != nil {
		t.Fatalf("the upgrade test needs the git repository of this source: %v: %s", err, root)
	}
	commit := previousReleaseCommit + "^{commit}"
	if _, err := git(root, "rev-parse", "--verify", "--quiet", commit); err == nil {
		return root
	}
	remotes, _ := git(root, "remote")
	var tried []string
	for _, remote := range strings.Fields(remotes) {
		out, err := git(root, "fetch", "--no-recurse-submodules", remote, previousReleaseCommit)
		if err == nil {
			if _, err := git(root, "rev-parse", "--verify", "--quiet", commit); err == nil {
				return root
			}
		}
		tried = append(tried, remote+": "+out)
	}
	t.Fatalf("commit %s (release %s) is neither in this clone nor fetchable from its remotes %v: clone main's full history and run again", previousReleaseCommit, previousRelease, tried)
	return ""
}

// buildRelease builds the previous release's binary from its source at its
// commit (git archive into a temporary directory; the module cache serves its
// dependencies) and this source's binary.
func buildRelease(t *testing.T, dir string) (oldBin, newBin string) {
	t.Helper()
	root := findRelease(t)
	src := filepath.Join(dir, "src-"+previousRelease)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("git", "archive", "--format=tar", previousReleaseCommit)
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
