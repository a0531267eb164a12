package main

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
)

// readUntilThenClose starts runctl args with its stdout a pipe, reads until a line
// holds want, closes the pipe's reading end (as an ssh session that ended,
// or `| head` exiting, does) and returns how runctl ended, or fails if it
// is still there 5 s later.
func readUntilThenClose(t *testing.T, want string, args ...string) result {
	t.Helper()
	cmd := runctlCmd(t, "/", args...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stdout, cmd.Stderr = w, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	sc := bufio.NewScanner(r)
	var seen []string
	for sc.Scan() && !strings.Contains(sc.Text(), want) {
		seen = append(seen, sc.Text())
	}
	r.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return result{strings.Join(seen, "\n"), errb.String(), clitest.ExitCode(err)}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("runctl %q still runs 5 s after its output lost its reader (a quiet run prints nothing to notice it by)\nstderr:\n%s", args, errb.String())
	}
	return result{}
}

// A follow of a quiet run whose reader went away (Ctrl-C of
// `runctl -H robot logs -f`, which ends the ssh session) ends at once, and
// its journalctl with it: not at the run's next line.
func TestLogsFollowEndsWithItsReader(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", "echo quiet-start; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	readUntilThenClose(t, "quiet-start", "logs", "-f", name)
	if ps := mustOutRoot(t, "sh", "-c", "ps -eo args | grep '[j]ournalctl.*runctl-"+name+".service' || true"); strings.TrimSpace(ps) != "" {
		t.Errorf("journalctl is left behind:\n%s", ps)
	}
}

// An attached run whose output lost its reader takes it as a hangup at
// once, as a closed terminal: it is stopped, not left until its next line.
func TestAttachedRunHangsUpWithItsReader(t *testing.T) {
	shared(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	r := readUntilThenClose(t, "quiet-start", "run", "-n", name, "--", "sh", "-c", "echo quiet-start; exec sleep 1000")
	if !strings.Contains(r.stderr, "hangup: stopping "+name) {
		t.Errorf("the attached run's runctl did not say it stops the run:\n%v", r)
	}
	waitFor(t, func() bool {
		st := strings.TrimSpace(mustOutRoot(t, "systemctl", "show", "-P", "ActiveState", "runctl-"+name+".service"))
		return st == "inactive" || st == "failed"
	}, name+" stopped")
}
