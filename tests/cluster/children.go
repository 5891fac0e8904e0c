package main

// Child processes: kube-apiserver, kube-controller-manager, kube-scheduler, kwok and
// volume-provisioner each run as a re-exec of this binary (/proc/self/exe SUBCOMMAND
// ARGS...), in their own process group (so a terminal's Ctrl-C reaches only the
// supervisor, which then stops them in order), with Pdeathsig=SIGKILL so they never
// outlive the supervisor, and with stdout and stderr in DIR/<name>.log (truncated at
// every start).

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// child is one running component.
type child struct {
	Name    string // "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok" or "volume-provisioner"
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	err     error         // Wait's result; read only after done is closed
}

// startChild starts `self sub args...` with its output in logPath, in the supervisor's
// environment plus extraEnv ("KEY=value" entries).
func startChild(sub string, args []string, logPath string, extraEnv ...string) (*child, error) {
	self, err := os.Executable() // for argv[0], so that ps shows which binary runs
	if err != nil {
		return nil, err
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own copy of the descriptor

	// Exec /proc/self/exe, not the path: it is this very binary even if a rebuild has
	// replaced the file since the supervisor started.
	cmd := exec.Command("/proc/self/exe", append([]string{sub}, args...)...)
	cmd.Args[0] = self
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Stdin = nil
	cmd.Env = append(os.Environ(), extraEnv...)
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:   true,
		Pdeathsig: syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", sub, err)
	}
	c := &child{Name: componentName(sub), LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// Pid returns the child's process id.
func (c *child) Pid() int { return c.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (c *child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// ExitError describes how the child ended; valid once done is closed.
func (c *child) ExitError() string {
	if c.err == nil {
		return "exit status 0"
	}
	return c.err.Error()
}

// Stop sends SIGTERM, waits up to grace, then SIGKILLs and waits for the exit.
func (c *child) Stop(grace time.Duration) {
	if c == nil || c.Exited() {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
		return
	case <-time.After(grace):
	}
	logf("%s (pid %d) did not exit %s after SIGTERM; sending SIGKILL", c.Name, c.Pid(), grace)
	_ = c.cmd.Process.Kill()
	<-c.done
}

// componentName names the component that subcommand sub runs.
func componentName(sub string) string {
	switch sub {
	case subAPIServer:
		return "kube-apiserver"
	case subControllerManager:
		return "kube-controller-manager"
	case subScheduler:
		return "kube-scheduler"
	}
	return sub
}
