package main

import (
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

// Ctrl-C of an attached run is SIGINT to the program, as a terminal sends
// it to its foreground job: Python's KeyboardInterrupt cleanup runs
// without --stop-signal, and runctl exits with the program's status.
func TestAttachedCtrlCIsSIGINT(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd := runctlCmd(t, "/", "run", "-n", name, "--", "python3", "-c", motorNode)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitJournal(t, name, "ready", 1)
	syscall.Kill(sandbox.ChildPID(cmd.Process.Pid), syscall.SIGINT)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("after Ctrl-C: %v, want exit 0 (the node exits 0 on KeyboardInterrupt)\nstdout %s\nstderr %s", err, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "motors off") || !strings.Contains(errb.String(), "interrupting "+name) {
		t.Errorf("Ctrl-C did not reach the KeyboardInterrupt handler, or runctl did not say so:\nstdout %s\nstderr %s", out.String(), errb.String())
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("unit left after Ctrl-C:\n%s", u)
	}
}

// A run that systemd restarts whatever its exit (--restart always) ends at
// Ctrl-C: runctl stops the restart it would otherwise stay attached to.
func TestAttachedCtrlCEndsRestartAlways(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd := runctlCmd(t, "/", "run", "-n", name, "--restart", "always", "--", "python3", "-c", motorNode)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitJournal(t, name, "ready", 1)
	syscall.Kill(sandbox.ChildPID(cmd.Process.Pid), syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("after Ctrl-C: %v\nstdout %s\nstderr %s", err, out.String(), errb.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("runctl still attached 30 s after Ctrl-C\nstdout %s\nstderr %s", out.String(), errb.String())
	}
	if u := unitLeft(t, name); u != "" {
		t.Fatalf("unit left after Ctrl-C:\n%s", u)
	}
	if n := journalCount(t, name, "ready"); n != 1 {
		t.Errorf("the node started %d times; Ctrl-C should have ended it\nstderr %s", n, errb.String())
	}
}

// Signals one sender meant once arrive twice: coreutils timeout signals
// runctl and then its process group. They count once: a graceful stop,
// not a kill. First sent by hand 10 ms apart (deterministic), then by
// timeout itself.
func TestAttachedSignalsTogetherCountOnce(t *testing.T) {
	shared(t)
	script := `trap 'sleep 1; echo cleaned; exit 0' TERM; echo ready; while :; do sleep 0.05; done`
	name := runName(t)
	cmd, out, errb := fgStart(t, name, script)
	pid := sandbox.ChildPID(cmd.Process.Pid)
	syscall.Kill(pid, syscall.SIGTERM)
	time.Sleep(10 * time.Millisecond)
	syscall.Kill(pid, syscall.SIGTERM)
	if err := cmd.Wait(); err != nil || !strings.Contains(out.String(), "cleaned") {
		t.Errorf("two SIGTERMs 10 ms apart: %v, want a graceful stop (exit 0, cleaned)\nstdout %s\nstderr %s", err, out.String(), errb.String())
	}

	for i := range 3 {
		name := runName(t)
		cmd := runctlCmd(t, "/", "run", "-n", name, "--", "sh", "-c", script)
		at := slices.Index(cmd.Args, "--") + 1
		cmd.Args = slices.Insert(cmd.Args, at, "timeout", "--preserve-status", "-s", "TERM", "2")
		r := finish(t, cmd)
		if r.code != 0 || !strings.Contains(r.stdout, "cleaned") || strings.Contains(r.stderr, "killing") {
			t.Errorf("try %d: timeout 2 runctl run: %v; want a graceful stop (exit 0, cleaned)", i, r)
		}
	}
}
