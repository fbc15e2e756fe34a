package testcluster

import (
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"

	"github.com/tokenstore/tokenstore/cluster"
)

// Process is a tokenstore node running as its own OS process.
type Process struct {
	ID       string
	HTTPAddr string
	RaftAddr string
	DataDir  string
	// Settings are -E name=value arguments given on every start; TLS
	// settings make the URL https.
	Settings map[string]string
	cmd      *exec.Cmd
	done     chan error
}

// StartProcess runs `bin serve` with the given flags; output goes to out.
func StartProcess(bin string, p *Process, extra []string, env []string, out io.Writer) error {
	args := append([]string{"serve", "--node-id", p.ID, "--http-addr", p.HTTPAddr, "--raft-addr", p.RaftAddr,
		"--data-dir", p.DataDir}, extra...)
	for _, k := range slices.Sorted(maps.Keys(p.Settings)) {
		args = append(args, "-E", k+"="+p.Settings[k])
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.ID, err)
	}
	done := make(chan error, 1)
	p.cmd, p.done = cmd, done
	go func() { done <- cmd.Wait() }()
	return nil
}

// URL is the process's HTTP base URL.
func (p *Process) URL() string {
	if p.Settings["xpack.security.http.ssl.enabled"] == "true" {
		return "https://" + p.HTTPAddr
	}
	return "http://" + p.HTTPAddr
}

// Signal sends sig and waits up to timeout for the process to exit; it
// returns how long the exit took.
func (p *Process) Signal(sig syscall.Signal, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		return 0, err
	}
	select {
	case err := <-p.done:
		if sig == syscall.SIGKILL {
			return time.Since(start), nil
		}
		return time.Since(start), err
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		return time.Since(start), fmt.Errorf("%s did not exit within %v of %v", p.ID, timeout, sig)
	}
}

// Exited returns the exit error once the process has ended, or false.
func (p *Process) Exited() (error, bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return err, true
	default:
		return nil, false
	}
}

// ProcessCluster lays out n processes on consecutive ports from base ports,
// with data dirs under dir; node 0 bootstraps and the others join it.
func ProcessCluster(bin, dir string, n, httpBase, raftBase int, env []string, out io.Writer) ([]*Process, error) {
	return ProcessClusterWith(bin, dir, n, httpBase, raftBase, ProcessOptions{Env: env}, out)
}

// ProcessOptions tune a process cluster.
type ProcessOptions struct {
	Env []string
	// Settings are -E settings for every node (TLS settings are added).
	Settings map[string]string
	// CertsDir turns TLS on, with node certificates kept there, signed by CA
	// or, when CA is nil, by a CA made there once and reused.
	CertsDir string
	CA       *cluster.CA
	// NonVoters makes the last that many processes join as non-voters.
	NonVoters int
}

// ProcessClusterWith is ProcessCluster with options. Base ports of 0 take
// free ports (tests running side by side).
func ProcessClusterWith(bin, dir string, n, httpBase, raftBase int, opts ProcessOptions, out io.Writer) ([]*Process, error) {
	ca := opts.CA
	if opts.CertsDir != "" && ca == nil {
		var err error
		if ca, err = loadOrCreateCA(opts.CertsDir); err != nil {
			return nil, err
		}
	}
	env := opts.Env
	var procs []*Process
	for i := 0; i < n; i++ {
		httpAddr, err := loopbackAddr(httpBase, i)
		if err != nil {
			return procs, err
		}
		raftAddr, err := loopbackAddr(raftBase, i)
		if err != nil {
			return procs, err
		}
		p := &Process{ID: fmt.Sprintf("node-%d", i), HTTPAddr: httpAddr, RaftAddr: raftAddr,
			DataDir: filepath.Join(dir, fmt.Sprintf("node-%d", i))}
		if ca != nil {
			settings, err := WriteNodeTLS(ca, opts.CertsDir, p.ID)
			if err != nil {
				return procs, err
			}
			p.Settings = settings
		}
		if len(opts.Settings) > 0 && p.Settings == nil {
			p.Settings = map[string]string{}
		}
		maps.Copy(p.Settings, opts.Settings)
		extra := []string{"--bootstrap"}
		if i > 0 {
			extra = []string{"--join", procs[0].HTTPAddr}
		}
		if i >= n-opts.NonVoters {
			extra = append(extra, "--non-voter")
		}
		if err := StartProcess(bin, p, extra, env, out); err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}

// loopbackAddr is port base+i on loopback, or a free port when base is 0
// (reserved by listening on it and closing it, so a restart reuses it).
func loopbackAddr(base, i int) (string, error) {
	if base != 0 {
		return fmt.Sprintf("127.0.0.1:%d", base+i), nil
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("reserve a port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// loadOrCreateCA reads dir/ca.crt and dir/ca.key, making them first if
// they are not there, so that a restarted cluster keeps its CA.
func loadOrCreateCA(dir string) (*cluster.CA, error) {
	crtFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	crt, err1 := os.ReadFile(crtFile)
	key, err2 := os.ReadFile(keyFile)
	if err1 == nil && err2 == nil {
		return cluster.ParseCA(crt, key)
	}
	ca, err := cluster.NewCA("tokenstore CA", 3*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	if crt, key, err = ca.PEM(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		return nil, err
	}
	return ca, os.WriteFile(crtFile, crt, 0o644)
}
