package fleet_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runctlIn runs the local runctl with the given RUNCTL_SSH and control
// folder (XDG_RUNTIME_DIR).
func runctlIn(t *testing.T, sshCmd, rt string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := runctlCmd(t, ctx, args...)
	cmd.Env = append(cmd.Env, "RUNCTL_SSH="+sshCmd, "XDG_RUNTIME_DIR="+rt)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// privateDir is a fresh folder of the test's, mode 0700, with a short
// path (not t.TempDir's, which holds the test's name): the control folder
// inside must leave room for ssh's socket names.
func privateDir(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// A kept connection is reused only by the ssh configuration that opened
// it: with robot-1 moved to robot-2's address in another ssh_config, the
// next command within ControlPersist goes to robot-2, not down the
// connection still open to robot-1.
func TestChangedSSHConfigIsANewConnection(t *testing.T) {
	t.Parallel()
	name := runName(t)
	rt := privateDir(t)
	base, err := os.ReadFile(fl.SSHConfig)
	if err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(t.TempDir(), "ssh_config")
	text := strings.Replace(string(base), "HostName "+fl.Addr(0)+"\n", "HostName "+fl.Addr(1)+"\n", 1)
	if text == string(base) {
		t.Fatalf("cannot move robot-1 in %s:\n%s", fl.SSHConfig, base)
	}
	if err := os.WriteFile(moved, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ssh, want string }{
		{"ssh -F " + fl.SSHConfig, "robot-1 | on robot-1"},
		{"ssh -F " + moved, "robot-1 | on robot-2"},
		{"ssh -F " + fl.SSHConfig, "robot-1 | on robot-1"},
	} {
		out, err := runctlIn(t, c.ssh, rt, "-H", "robot-1", "run", "-n", name, "--", "sh", "-c", "echo on $(hostname)")
		if err != nil || !strings.Contains(out, c.want) {
			t.Fatalf("RUNCTL_SSH=%q: want %q: %v\n%s", c.ssh, c.want, err, out)
		}
		for i := range 2 {
			fl.Robots[i].Command(context.Background(), "/usr/local/bin/runctl", "rm", "-f", name).Run()
		}
	}
}

// A control folder another user could reach is refused before any host is
// touched, naming the folder.
func TestForeignControlFolderIsRefused(t *testing.T) {
	t.Parallel()
	need(t)
	rt := privateDir(t)
	d := filepath.Join(rt, "runctl-ssh")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	// Where runctl used to keep its sockets, another user's as well.
	os.MkdirAll(filepath.Join(rt, "runctl", "ssh"), 0o700)
	os.Chown(filepath.Join(rt, "runctl", "ssh"), 65534, 65534)
	out, err := runctlIn(t, "ssh -F "+fl.SSHConfig, rt, "-H", "robot-1", "ls")
	if err == nil || !strings.Contains(out, "refusing to use "+d) || strings.Contains(out, "robot-1") {
		t.Fatalf("-H with a control folder owned by another user: want a refusal naming %s and no host touched: %v\n%s", d, err, out)
	}
	entries, _ := os.ReadDir(d)
	if len(entries) != 0 {
		t.Errorf("sockets were made in the refused folder: %v", entries)
	}
}

// logs through -H relays a 1.2 MB line whole, and the lines after it (the
// relay used to stop at its 1 MB line limit and report the host ok).
func TestLogsLongLineThroughSSH(t *testing.T) {
	t.Parallel()
	name := runName(t)
	script := `head -c 1200000 /dev/zero | tr '\000' x; echo; echo after; sleep 1000`
	if r := runctl(t, "-H", "robot-1", "run", "-d", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	on(t, 0, "journalctl", "--sync")
	r := runctl(t, "-H", "robot-1", "logs", "-n", "all", name)
	long := strings.Repeat("x", 1200000)
	var got []string
	for _, l := range strings.Split(r.stdout, "\n") {
		// The program's lines are "robot-1 | TIME NAME[PID]: MESSAGE".
		if j, k := strings.Index(l, " "+name+"["), strings.Index(l, "]: "); strings.HasPrefix(l, "robot-1 | ") && j >= 0 && k > j {
			got = append(got, l[k+3:])
		}
	}
	if r.code != 0 || len(got) != 2 || got[0] != long || got[1] != "after" {
		for i := range got {
			if len(got[i]) > 40 {
				got[i] = got[i][:40] + "..."
			}
		}
		t.Fatalf("logs through -H: exit %d, %d bytes, lines %q; want the 1,200,000-byte line and \"after\"\nstderr: %s", r.code, len(r.stdout), got, r.stderr)
	}
}
