package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/sandbox"
)

// An enabled run comes back after a power cycle: the sandbox booted again
// over its kept layer to multi-user.target runs it with the same argv, cwd
// and environment, and runctl restart works on it. Disabled, it stays off.
func TestEnabledRunSurvivesReboot(t *testing.T) {
	shared(t)
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result {
		t.Helper()
		return inEnv(s, []string{"ROBOT_MODE=field test"}, args...)
	}
	argv := []string{"sh", "-c", "sleep 1000; :", "argv0", "a b", "$HOME", "%n", ""}

	s := boot()
	if r := in(s, append([]string{"run", "-d", "--enable", "-n", "bot", "--dir", "/usr/share", "-E", "SECRET=s3\"c$r%t", "--"}, argv...)...); r.code != 0 || !strings.Contains(r.stdout, "enabled bot") {
		s.Close()
		t.Fatalf("run --enable: %v", r)
	}
	before := sandboxProcView(t, s, "bot")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	after := sandboxProcView(t, s, "bot")
	if after != before {
		s.Close()
		t.Fatalf("after the reboot the run differs:\nbefore %s\nafter  %s", before, after)
	}
	if !strings.Contains(after, `argv=["sh" "-c" "sleep 1000; :" "argv0" "a b" "$HOME" "%n" ""]`) || !strings.Contains(after, `SECRET=s3\"c$r%t`) || !strings.Contains(after, `cwd="/usr/share"`) {
		s.Close()
		t.Fatalf("the run after reboot: %s", after)
	}
	if r := in(s, "restart", "bot"); r.code != 0 {
		s.Close()
		t.Fatalf("restart after reboot: %v", r)
	}
	if again := sandboxProcView(t, s, "bot"); again != before {
		s.Close()
		t.Fatalf("after restart: %s", again)
	}
	if r := in(s, "ls"); !strings.Contains(r.stdout, " on ") {
		t.Errorf("ls does not show autostart:\n%s", r.stdout)
	}
	if r := in(s, "disable", "bot"); r.code != 0 || !strings.Contains(r.stdout, "keeps running") {
		s.Close()
		t.Fatalf("disable: %v", r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	if state := unitActive(t, s, "runctl-bot.service"); state == "active" {
		t.Fatalf("a disabled run started at boot")
	}
	if _, err := os.Stat(s.Path("/etc/systemd/system/runctl-bot.service")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("disable left the unit file: %v", err)
	}
}

func unitActive(t *testing.T, s *sandbox.Sandbox, unit string) string {
	t.Helper()
	out, _ := s.Command(t.Context(), "systemctl", "is-active", unit).Output()
	return strings.TrimSpace(string(out))
}

// sandboxProcView is procView for the run's main process in sandbox s.
func sandboxProcView(t *testing.T, s *sandbox.Sandbox, name string) string {
	t.Helper()
	out, err := s.Command(t.Context(), "systemctl", "show", "-P", "MainPID", "runctl-"+name+".service").Output()
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || pid == 0 {
		st, _ := s.Command(t.Context(), "systemctl", "status", "--no-pager", "runctl-"+name+".service").CombinedOutput()
		t.Fatalf("runctl-%s.service is not running:\n%s", name, st)
	}
	read := func(f string) []byte {
		b, _ := os.ReadFile(s.Path(fmt.Sprintf("/proc/%d/%s", pid, f)))
		return b
	}
	cwd, _ := os.Readlink(s.Path(fmt.Sprintf("/proc/%d/cwd", pid)))
	var env []string
	for _, kv := range nulSplit(read("environ")) {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "INVOCATION_ID", "JOURNAL_STREAM", "SYSTEMD_EXEC_PID":
			continue
		}
		env = append(env, kv)
	}
	return fmt.Sprintf("argv=%q cwd=%q env=%q", nulSplit(read("cmdline")), strings.TrimPrefix(cwd, s.Path("/")), env)
}

// How a run ended survives a reboot: kept beside its spec, not in the
// manager. An enabled run's unit file records it too: the run started at
// boot from its unit file ends with a status it did not have before.
func TestLastExitSurvivesReboot(t *testing.T) {
	shared(t)
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result { t.Helper(); return inEnv(s, nil, args...) }
	lastExit := func(s *sandbox.Sandbox, name string) string {
		t.Helper()
		var list []lsRun
		r := in(s, "ls", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("ls --json: %v\n%v", err, r)
		}
		for _, run := range list {
			if run.Name == name && run.State != "active" && run.State != "activating" {
				return run.LastExit
			}
		}
		return ""
	}
	waitExit := func(s *sandbox.Sandbox, name, want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for got := lastExit(s, name); got != want; got = lastExit(s, name) {
			if time.Now().After(deadline) {
				st := in(s, "status", name)
				s.Close()
				t.Fatalf("last_exit of %s: %q, want %q\n%v", name, got, want, st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	code := "/etc/runctl-test-exit-code"

	s := boot()
	in(s, "run", "-d", "--settle=0", "-n", "gone", "--", "sh", "-c", "exit 3")
	in(s, "run", "-d", "--settle=0", "--enable", "-n", "boot", "--", "sh", "-c", "sleep 0.2; exit $(cat "+code+" 2>/dev/null || echo 9)")
	waitExit(s, "gone", "exit status 3")
	waitExit(s, "boot", "exit status 9")
	if err := os.WriteFile(s.Path(code), []byte("11\n"), 0o644); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	waitExit(s, "gone", "exit status 3")
	waitExit(s, "boot", "exit status 11")
	// Recorded by the unit file's ExecStopPost, not only known to systemd;
	// systemd may tell the exit status while ExecStopPost still runs.
	waitFor(t, func() bool {
		rec, _ := os.Readlink(s.Path("/var/lib/runctl/runs/boot.exit"))
		return recordValues(rec) == "exit-code exited 11"
	}, "the enabled run's record after the boot to be exit-code exited 11")
	if st := in(s, "status", "gone"); !strings.Contains(st.stdout, "Last exit: exit status 3 at ") {
		t.Errorf("status after the reboot:\n%v", st)
	}
}

// rebootable is a machine whose disk outlives its boots: boot starts it
// (again) over a kept layer to multi-user.target, and in runs runctl on a
// booted one with extra environment variables.
func rebootable(t *testing.T) (boot func() *sandbox.Sandbox, in func(s *sandbox.Sandbox, env []string, args ...string) result) {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	dir, err := os.MkdirTemp(sandbox.StateRoot(), "reboot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	boot = func() *sandbox.Sandbox {
		t.Helper()
		s, err := sandbox.Boot(context.Background(), sandbox.Options{Dir: dir, Keep: true, Target: "multi-user.target", Mask: []string{"postgresql.service", "postgresql@.service"}})
		if err != nil {
			t.Fatalf("boot: %v", err)
		}
		return s
	}
	in = func(s *sandbox.Sandbox, env []string, args ...string) result {
		t.Helper()
		cmd := s.CommandIn(bounded(t), "/", binDir+"/runctl", clitest.NoSettle(args)...)
		cmd.Env = append(append(os.Environ(), "PATH="+binDir+":/usr/sbin:/usr/bin:/sbin:/bin"), env...)
		return finish(t, cmd)
	}
	return boot, in
}
