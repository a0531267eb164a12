package fleet_test

import (
	"bufio"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"
)

// interruptAfter starts the local `runctl args...` in its own process
// group, reads its output until a line holds want, then sends SIGINT to
// the group, as Ctrl-C on a terminal does to runctl and its ssh, and
// returns what runctl printed on stderr once it exited.
func interruptAfter(t *testing.T, want string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := runctlCmd(t, ctx, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && !strings.Contains(sc.Text(), want) {
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
	cmd.Wait()
	return errb.String()
}

// left is what of name still runs on robot i: runctl and journalctl
// processes that name it.
func left(t *testing.T, i int, name string) string {
	t.Helper()
	return strings.TrimSpace(on(t, i, "sh", "-c", "ps -eo pid,args | grep -E '[r]unctl .*logs.* "+name+"$|[j]ournalctl.*runctl-"+name+"[.]service' || true"))
}

// Ctrl-C of `runctl -H robot logs -f` of a quiet run leaves nothing
// behind on the robot: its runctl and journalctl end with the ssh session,
// not at the run's next line.
func TestLogsFollowInterruptedLeavesNothing(t *testing.T) {
	name := runName(t)
	if r := runctl(t, "-H", "robot-1", "run", "-d", "-n", name, "--", "sh", "-c", "echo quiet-start; exec sleep 1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	stderr := interruptAfter(t, "quiet-start", "-H", "robot-1", "logs", "-f", name)
	t.Logf("stderr after Ctrl-C: %s", stderr)
	deadline := time.Now().Add(5 * time.Second)
	for l := left(t, 0, name); l != ""; l = left(t, 0, name) {
		if time.Now().After(deadline) {
			t.Fatalf("5 s after Ctrl-C, robot-1 still runs:\n%s", l)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Ctrl-C of an attached `runctl -H robot run` does what the README says:
// the robot's runctl sees its ssh session end at once and stops the run,
// as a closed terminal does locally; not at the run's next line.
func TestAttachedRunInterrupted(t *testing.T) {
	name := runName(t)
	stderr := interruptAfter(t, "quiet-start", "-H", "robot-1", "run", "-n", name, "--", "sh", "-c", "echo quiet-start; exec sleep 1000")
	t.Logf("stderr after Ctrl-C: %s", stderr)
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := strings.TrimSpace(on(t, 0, "sh", "-c", "systemctl show -P ActiveState runctl-"+name+".service"))
		if st == "inactive" || st == "failed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5 s after Ctrl-C, the run on robot-1 is %s, want it stopped", st)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
