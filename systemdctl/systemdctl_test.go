package systemdctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/sandbox"
)

var sb *sandbox.Sandbox

// insideEnv marks this test binary run again inside the sandbox (runInside).
const insideEnv = "RUNCTL_TEST_INSIDE"

func TestMain(m *testing.M) {
	if os.Getenv(insideEnv) != "" {
		os.Exit(m.Run()) // inside the sandbox, its systemd is PID 1 here
	}
	os.Exit(sandbox.RunTests(m, &sb, sandbox.Options{}))
}

// runInside runs test t again, by itself, inside the sandbox: the manager's
// private socket refuses peers outside its pid namespace, as the host is.
// It returns true in that inner run, which does the test's work.
func runInside(t *testing.T) bool {
	t.Helper()
	return sandbox.RunInside(t, sb, insideEnv)
}

// connect opens a Manager on the sandbox's systemd, closed with the test.
func connect(t *testing.T) *Manager {
	t.Helper()
	sandbox.Need(t, sb)
	m, err := Connect(context.Background(), Options{Bus: sb.SystemBus()})
	if err != nil {
		t.Fatalf("connect to sandbox systemd: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}

var seq atomic.Int32

// unitName is unique per test; cleanup stops and resets what the test made.
func unitName(t *testing.T, m *Manager) string {
	t.Helper()
	name := fmt.Sprintf("runctl-test%d-%d.service", seq.Add(1), os.Getpid())
	t.Cleanup(func() {
		ctx := context.Background()
		m.Kill(ctx, name, unix.SIGKILL)
		m.enqueue(ctx, "StopUnit", name, "replace")
		m.ResetFailed(ctx, name)
	})
	return name
}

type execCommand struct {
	Path          string
	Argv          []string
	IgnoreFailure bool
}

// execProps starts argv as runctl does (units.Properties): a plain
// ExecStart with every $ doubled, Type=exec.
func execProps(path string, argv ...string) []sd.Property {
	escaped := make([]string, len(argv))
	for i, a := range argv {
		escaped[i] = strings.ReplaceAll(a, "$", "$$")
	}
	return []sd.Property{
		sd.PropDescription("runctl test"),
		{Name: "ExecStart", Value: dbus.MakeVariant([]execCommand{{path, escaped, false}})},
		{Name: "Type", Value: dbus.MakeVariant("exec")},
	}
}

// startTransient starts a transient unit and waits for its start job.
func (m *Manager) startTransient(ctx context.Context, unit string, props []sd.Property) (State, error) {
	st, w, err := m.StartTransientWatch(ctx, unit, props, nil)
	w.Close()
	return st, err
}

func shProps(script string) []sd.Property { return execProps("/bin/sh", "sh", "-c", script) }

func TestStartReportsMainPIDAndInvocation(t *testing.T) {
	m := connect(t)
	name := unitName(t, m)
	st, err := m.startTransient(t.Context(), name, execProps("/bin/sleep", "sleep", "100"))
	if err != nil {
		t.Fatalf("startTransient: %v", err)
	}
	if st.ActiveState != "active" || st.MainPID == 0 || len(st.InvocationID) != 32 {
		t.Fatalf("after start: state %q pid %d invocation %q; want active, a pid, an id", st.ActiveState, st.MainPID, st.InvocationID)
	}
	comm, err := os.ReadFile(sb.Path(fmt.Sprintf("/proc/%d/comm", st.MainPID)))
	if err != nil || strings.TrimSpace(string(comm)) != "sleep" {
		t.Fatalf("main pid %d runs %q (%v), want sleep", st.MainPID, comm, err)
	}
	got, err := m.Unit(t.Context(), name)
	if err != nil || got.MainPID != st.MainPID || got.InvocationID != st.InvocationID {
		t.Fatalf("Unit() = %+v, %v; want the pid and invocation startTransient saw", got, err)
	}
}

func TestStartExistingUnitIsUnitExists(t *testing.T) {
	m := connect(t)
	name := unitName(t, m)
	if _, err := m.startTransient(t.Context(), name, shProps("exec sleep 100")); err != nil {
		t.Fatal(err)
	}
	_, err := m.startTransient(t.Context(), name, shProps("exec sleep 100"))
	if !errors.Is(err, ErrUnitExists) {
		t.Fatalf("second start: %v, want ErrUnitExists", err)
	}
}

func TestStopGraceful(t *testing.T) {
	m := connect(t)
	name := unitName(t, m)
	if _, err := m.startTransient(t.Context(), name, shProps("exec sleep 100")); err != nil {
		t.Fatal(err)
	}
	out, err := m.Stop(t.Context(), name, StopOptions{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if out.Escalated || out.After.Ended() != "killed by SIGTERM" || out.After.ActiveState != "inactive" {
		t.Fatalf("stop: escalated %v, ended %q, state %q; want SIGTERM, inactive", out.Escalated, out.After.Ended(), out.After.ActiveState)
	}
	if st, _ := m.Unit(t.Context(), name); st.Loaded() {
		t.Fatalf("after stop the unit is still loaded: %+v", st)
	}
}

func TestStopEscalatesAtTimeout(t *testing.T) {
	m := connect(t)
	name := unitName(t, m)
	ready := "/run/" + name + ".ready"
	if _, err := m.startTransient(t.Context(), name, shProps(`trap "" TERM; touch `+ready+`; while :; do sleep 1; done`)); err != nil {
		t.Fatal(err)
	}
	// The start job is done at exec; the trap comes a moment later.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(sb.Path(ready)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the program never set its trap")
		}
	}
	begin := time.Now()
	out, err := m.Stop(t.Context(), name, StopOptions{Timeout: 300 * time.Millisecond})
	took := time.Since(begin)
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if !out.Escalated || out.After.Ended() != "killed by SIGKILL" {
		t.Fatalf("stop: escalated %v ended %q; want escalation to SIGKILL", out.Escalated, out.After.Ended())
	}
	if took < 300*time.Millisecond || took > 30*time.Second { // well short of the default 90 s
		t.Fatalf("stop took %v, want about the 300ms timeout", took)
	}
	if st, _ := m.Unit(t.Context(), name); st.Loaded() {
		t.Fatalf("a killed unit was left loaded (failed units must not pile up): %+v", st)
	}
}

func TestStopForceKillsAtOnce(t *testing.T) {
	m := connect(t)
	name := unitName(t, m)
	if _, err := m.startTransient(t.Context(), name, shProps(`trap "" TERM; while :; do sleep 1; done`)); err != nil {
		t.Fatal(err)
	}
	out, err := m.Stop(t.Context(), name, StopOptions{Force: true, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if out.After.Ended() != "killed by SIGKILL" || out.Took > 2*time.Second {
		t.Fatalf("force stop: ended %q in %v; want SIGKILL at once", out.After.Ended(), out.Took)
	}
}

// After a daemon-reexec, calls and a stop's wait still work. This test talks
// through dbus-daemon, which keeps our connection across the reexec; the
// private socket, whose connections the reexec drops and runctl must
// reconnect, is covered by the CLI test TestWaitSurvivesManagerReloadAndReexec.
func TestCallsAfterReexec(t *testing.T) {
	m := connect(t)
	name := unitName(t, m)
	if _, err := m.startTransient(t.Context(), name, execProps("/bin/sleep", "sleep", "100")); err != nil {
		t.Fatal(err)
	}
	if out, err := sb.Command(t.Context(), "systemctl", "daemon-reexec").CombinedOutput(); err != nil {
		t.Fatalf("daemon-reexec: %v\n%s", err, out)
	}
	st, err := m.Brief(t.Context(), name)
	if err != nil || !st.Running() {
		t.Fatalf("Brief after daemon-reexec: %+v, %v; want the running unit", st, err)
	}
	out, err := m.Stop(t.Context(), name, StopOptions{Timeout: 5 * time.Second})
	if err != nil || out.After.Ended() != "killed by SIGTERM" {
		t.Fatalf("Stop after daemon-reexec: %+v, %v", out, err)
	}
}

// connectPrivate opens a Manager on the manager's private socket, as root's
// runctl does: no bus, so no match rules and no Subscribe. Inside only.
func connectPrivate(t *testing.T) *Manager {
	t.Helper()
	m, err := Connect(context.Background(), Options{Scope: System})
	if err != nil || !m.private {
		t.Fatalf("connect to the system manager as root: %v; want its private socket", err)
	}
	t.Cleanup(m.Close)
	return m
}

// dropByReexec has the manager re-execute, which closes every private
// connection, and waits until m has seen its connection end. Inside only.
func dropByReexec(t *testing.T, m *Manager) {
	t.Helper()
	if out, err := exec.CommandContext(t.Context(), "systemctl", "daemon-reexec").CombinedOutput(); err != nil {
		t.Fatalf("daemon-reexec: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); m.bus().Connected(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the manager's re-execution did not end our private connection")
		}
	}
}

// A connection dropped by a daemon-reexec before its first Watch (runctl
// restart during repeated reexecs: 2 in 60 failed "cannot subscribe") is
// replaced, for a stop and for a start alike.
func TestPrivateSocketCallsAfterReexecDrop(t *testing.T) {
	if !runInside(t) {
		return
	}
	m := connectPrivate(t)
	name := unitName(t, m)
	if out, err := exec.CommandContext(t.Context(), "systemd-run", "--unit="+name, "-p", "Type=exec", "/bin/sleep", "100").CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v\n%s", err, out)
	}
	dropByReexec(t, m)
	out, err := m.Stop(t.Context(), name, StopOptions{Timeout: 5 * time.Second})
	if err != nil || out.After.Ended() != "killed by SIGTERM" {
		t.Fatalf("Stop on a connection the reexec dropped: %+v, %v; want it stopped by SIGTERM", out, err)
	}
	m2 := connectPrivate(t)
	dropByReexec(t, m2)
	st, err := m2.startTransient(t.Context(), name, execProps("/bin/sleep", "sleep", "100"))
	if err != nil || !st.Running() || st.MainPID == 0 {
		t.Fatalf("startTransient on a connection the reexec dropped: %+v, %v; want it running", st, err)
	}
}
