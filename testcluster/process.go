package testcluster

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is a tokenstore node running as its own OS process.
type Process struct {
	ID       string
	HTTPAddr string
	RaftAddr string
	DataDir  string
	cmd      *exec.Cmd
	done     chan error
}

// StartProcess runs `bin serve` with the given flags; output goes to out.
func StartProcess(bin string, p *Process, extra []string, env []string, out io.Writer) error {
	args := append([]string{"serve", "--node-id", p.ID, "--http-addr", p.HTTPAddr, "--raft-addr", p.RaftAddr,
		"--data-dir", p.DataDir}, extra...)
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
func (p *Process) URL() string { return "http://" + p.HTTPAddr }

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
	var procs []*Process
	for i := 0; i < n; i++ {
		p := &Process{ID: fmt.Sprintf("node-%d", i), HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpBase+i),
			RaftAddr: fmt.Sprintf("127.0.0.1:%d", raftBase+i), DataDir: filepath.Join(dir, fmt.Sprintf("node-%d", i))}
		extra := []string{"--bootstrap"}
		if i > 0 {
			extra = []string{"--join", procs[0].HTTPAddr}
		}
		if err := StartProcess(bin, p, extra, env, out); err != nil {
			return procs, err
		}
		procs = append(procs, p)
	}
	return procs, nil
}
