package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var sb *Sandbox

func TestMain(m *testing.M) { os.Exit(RunTests(m, &sb, Options{})) }

func TestBootIsolated(t *testing.T) {
	Need(t, sb)
	out, err := sb.Command(t.Context(), "systemctl", "is-system-running").Output()
	if got := strings.TrimSpace(string(out)); err != nil || (got != "running" && got != "degraded") {
		t.Fatalf("is-system-running = %q, %v; want running", got, err)
	}
	// The sandbox's /tmp is its own: a file written there is not on the host.
	if err := sb.Command(t.Context(), "touch", "/tmp/runctl-sandbox-probe").Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/tmp/runctl-sandbox-probe"); err == nil {
		os.Remove("/tmp/runctl-sandbox-probe")
		t.Fatal("a file written to the sandbox's /tmp appeared on the host")
	}
	// PID 1 inside is systemd.
	comm, err := os.ReadFile(sb.Path("/proc/1/comm"))
	if err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		t.Fatalf("PID 1 inside is %q (%v), want systemd", comm, err)
	}
}

// A command whose context ends returns, even if it left a process that
// holds its output: nsenter forwards no signal to what it forked, so
// killing nsenter alone kept Wait waiting for the program (a hung runctl
// hung the suite).
func TestCommandEndsWithItsContext(t *testing.T) {
	Need(t, sb)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	cmd := sb.Command(ctx, "sh", "-c", "sleep 1001 & exec sleep 1002")
	done := make(chan error, 1)
	begin := time.Now()
	go func() { _, err := cmd.CombinedOutput(); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the command was not ended by its context")
		}
		if took := time.Since(begin); took > WaitDelay+5*time.Second {
			t.Errorf("it returned after %v, want within WaitDelay (%v) of its context's end", took, WaitDelay)
		}
	case <-time.After(WaitDelay + 20*time.Second):
		t.Fatal("the command still runs 20 s after its context ended and WaitDelay passed")
	}
	// The program itself was ended, not only nsenter.
	if out, _ := sb.Command(t.Context(), "pgrep", "-f", "^sleep 1002$").Output(); len(out) != 0 {
		t.Errorf("the program outlived its command: pid %s", out)
	}
	sb.Command(t.Context(), "pkill", "-f", "^sleep 100[12]$").Run()
}

// TestBootSuite boots systemd 247 from a Debian 11 root (built on first
// use) and finds it logging to its own console (a pty), not the host's.
func TestBootSuite(t *testing.T) {
	Need(t, sb)
	s, err := Boot(t.Context(), Options{Suite: "bullseye"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, err := s.Command(t.Context(), "systemctl", "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "systemd 247 ") {
		t.Fatalf("systemctl --version in the bullseye sandbox: %q, %v", out, err)
	}
	// 247 warns at every boot that it cannot load autofs4 in a container.
	if c := s.Console(); !strings.Contains(c, "autofs4") {
		t.Errorf("the console of the bullseye sandbox does not show systemd's start:\n%s", c)
	}
}

// Each boot has its own boot id, which journald stamps on its entries, so
// a reboot (or a power cut: PID 1 killed, the same disk booted again) is
// seen inside as on a machine: journalctl lists one boot per boot.
func TestEachBootItsOwnBootID(t *testing.T) {
	Need(t, sb)
	dir, err := os.MkdirTemp(StateRoot(), "bootid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	host, _ := os.ReadFile("/proc/sys/kernel/random/boot_id")
	seen := map[string]bool{strings.TrimSpace(string(host)): true}
	for i, end := range []string{"power cut", "reboot", ""} {
		s, err := Boot(t.Context(), Options{Dir: dir, Keep: true})
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.BootID()
		if err != nil || len(id) != 36 || seen[id] {
			s.Close()
			t.Fatalf("boot %d: boot id %q (%v); want a fresh one (host's and earlier: %v)", i, id, err, seen)
		}
		seen[id] = true
		// journald reads the same id: its entries carry it.
		tag := "runctl-bootid-" + id
		if out, err := s.Command(t.Context(), "systemd-cat", "-t", tag, "echo", "hello").CombinedOutput(); err != nil {
			s.Close()
			t.Fatalf("systemd-cat: %v %s", err, out)
		}
		want := strings.ReplaceAll(id, "-", "")
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _ := s.Command(t.Context(), "journalctl", "-t", tag, "-o", "export", "--output-fields=_BOOT_ID").Output()
			if strings.Contains(string(out), "_BOOT_ID="+want) {
				break
			}
			if time.Now().After(deadline) {
				s.Close()
				t.Fatalf("boot %d: journald's entry has no _BOOT_ID=%s:\n%s", i, want, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if i == 2 {
			out, err := s.Command(t.Context(), "journalctl", "--list-boots", "--no-pager").Output()
			if n := len(strings.Split(strings.TrimSpace(string(out)), "\n")); err != nil || n < 3 {
				t.Errorf("journalctl --list-boots after three boots: %v\n%s", err, out)
			}
		}
		switch end {
		case "power cut":
			err = s.PowerCut()
		default:
			err = s.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// The sandbox's console is its own and never stops being read, however
// often what writes to it closes it: systemd opens /dev/console for each
// line it shows there. After a last close ended the reading, 64 KB more
// filled the pty and blocked PID 1 mid-suite.
func TestConsoleIsReadAcrossCloses(t *testing.T) {
	Need(t, sb)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	line := strings.Repeat("x", 100)
	script := `for i in $(seq 1500); do echo "$i ` + line + `" > /dev/console; done`
	if out, err := sb.Command(ctx, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("writing 150 KB to the console, a line an open: %v (%v)\n%s", err, ctx.Err(), out)
	}
	waitConsole := time.Now().Add(5 * time.Second)
	for !strings.Contains(sb.Console(), "1500 "+line) {
		if time.Now().After(waitConsole) {
			t.Fatalf("the last line written is not in Console():\n%.500s", sb.Console())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sweep removes a state folder whose sandbox is gone (no cgroup), its
// seed's links included, once it is over a minute old; a fresh one (a
// boot under way) and a kept layer stay.
func TestSweepRemovesStaleState(t *testing.T) {
	root := t.TempDir()
	t.Setenv("RUNCTL_SANDBOX_DIR", root)
	made := func(id string, kept bool, at time.Time) string {
		t.Helper()
		dir := filepath.Join(root, id)
		for _, d := range []string{"seed/etc/systemd/system", "root"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink("/dev/null", filepath.Join(dir, "seed/etc/systemd/system/x.service")); err != nil {
			t.Fatal(err)
		}
		if kept {
			if err := os.MkdirAll(filepath.Join(dir, "layer", "upper"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chtimes(dir, at, at); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	old := time.Now().Add(-2 * time.Minute)
	stale, fresh, kept := made("sb-stale000000", false, old), made("sb-fresh000000", false, time.Now()), made("sb-kept0000000", true, old)
	sweep()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the state folder of a sandbox gone for minutes is still there (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(fresh, "seed")); err != nil {
		t.Errorf("a fresh state folder lost its seed: %v", err)
	}
	if _, err := os.Stat(filepath.Join(kept, "layer", "upper")); err != nil {
		t.Errorf("a kept layer was removed: %v", err)
	}
}
