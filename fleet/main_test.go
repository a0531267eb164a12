package fleet_test

// Tests against real hosts: three robots, each a real systemd in its own
// network namespace running sshd (sandbox.BootFleet), booted once for the
// package. runctl -H runs on the host side with RUNCTL_SSH="ssh -F
// ssh_config"; traffic goes only to the robots' own addresses.
//
// A test runs in parallel (t.Parallel) unless it changes a robot for the
// others: a link taken down, runctl moved away, a key restricted, the
// default inventory.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/sandbox"
)

var (
	fl     *sandbox.Fleet
	binDir string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Getenv(sandbox.SkipEnv) == "1" {
			fmt.Fprintf(os.Stderr, "%s=1: fleet tests against real hosts will be skipped\n", sandbox.SkipEnv)
			return m.Run()
		}
		dir, err := os.MkdirTemp(mkdirAll(sandbox.StateRoot()), "bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		build := exec.Command("go", "build", "-o", dir+"/runctl", "../cmd/runctl")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "cannot build runctl: %v\n%s", err, out)
			return 1
		}
		binDir = dir
		fl, err = sandbox.BootFleet(context.Background(), 3, dir+"/runctl")
		if err != nil {
			fmt.Fprintf(os.Stderr, "cannot boot the test robots: %v\n(run as root with openssh-server and iproute2 installed: packaging/build-deps.sh test; or set %s=1)\n", err, sandbox.SkipEnv)
			return 1
		}
		code := m.Run()
		if err := fl.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "fleet teardown: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
		return code
	}())
}

func mkdirAll(d string) string { os.MkdirAll(d, 0o755); return d }

func need(t *testing.T) {
	t.Helper()
	if fl == nil {
		t.Skipf("no test robots (%s=1)", sandbox.SkipEnv)
	}
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// commandTimeout bounds every command the harness runs: a hung runctl or
// ssh fails its test instead of hanging the whole run until its timeout.
const commandTimeout = 2 * time.Minute

// runctlCmd prepares the local runctl (on the host side, where the ssh
// client is) with the robots' ssh_config and a private control folder. A
// run, start or restart gets --settle=0 unless args give --settle, as in
// cmd/runctl's tests (clitest.NoSettle); -H passes it on to each host.
func runctlCmd(t *testing.T, ctx context.Context, args ...string) *exec.Cmd {
	t.Helper()
	need(t)
	cmd := exec.CommandContext(ctx, binDir+"/runctl", clitest.NoSettle(args)...)
	// Wait returns even if an ssh runctl started still holds the output.
	cmd.WaitDelay = sandbox.WaitDelay
	cmd.Env = append(os.Environ(), "RUNCTL_SSH=ssh -F "+fl.SSHConfig, "XDG_RUNTIME_DIR="+runtimeDir(t), "XDG_CONFIG_HOME="+fl.Dir+"/config", "XDG_CACHE_HOME="+fl.Dir+"/cache")
	return cmd
}

var rtDir string

// runtimeDir holds the ssh control sockets: one for the package, so that
// tests share connections as a user's runs would.
func runtimeDir(t *testing.T) string {
	if rtDir == "" {
		rtDir = filepath.Join(fl.Dir, "rt")
		if err := os.MkdirAll(rtDir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	return rtDir
}

func runctl(t *testing.T, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := runctlCmd(t, ctx, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := clitest.ExitCode(err)
	if code < 0 {
		t.Fatalf("cannot run runctl: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// on runs a command inside robot i.
func on(t *testing.T, i int, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), commandTimeout)
	defer cancel()
	out, err := fl.Robots[i].Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("robot %d: %s %q: %v\n%s", i+1, name, args, err, out)
	}
	return string(out)
}

var seq atomic.Int32

// runName is unique per test; cleanup removes the run from every robot.
func runName(t *testing.T) string {
	t.Helper()
	need(t)
	name := fmt.Sprintf("f%d", seq.Add(1))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
		defer cancel()
		for i := range fl.Robots {
			fl.Robots[i].Command(ctx, "/usr/local/bin/runctl", "rm", "-f", name).Run()
			fl.Robots[i].Command(ctx, "systemctl", "reset-failed", "runctl-"+name+".service").Run()
		}
	})
	return name
}

func hosts(n int) string {
	var h []string
	for i := range n {
		h = append(h, fl.Alias(i))
	}
	return strings.Join(h, ",")
}
