package matrix

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

// TestMatrixTruth: how runs ended is told truly on every version.
//   - A run whose first start failed (systemd could not execute it:
//     203/EXEC) says it did not start, and why, not an ordinary stop,
//     while systemd has it and once systemd forgot it.
//   - An outside systemctl restart records how the earlier instance ended
//     (killed by SIGTERM), for runs with and without --restart.
//   - runctl stop of a --notify run that has not sent READY=1 stops it at
//     once, not after TimeoutStartSec, and it is "stopped by runctl".
func TestMatrixTruth(t *testing.T) {
	if os.Getenv(sandbox.SkipEnv) == "1" {
		t.Skipf("no systemd sandbox (%s=1)", sandbox.SkipEnv)
	}
	t.Parallel()
	for _, v := range versions() {
		t.Run(v, func(t *testing.T) {
			t.Parallel() // a machine each, as TestMatrix's
			m := bootMachine(t, v)
			for _, c := range []struct {
				what  string
				check func(*machine)
			}{
				{"first start failed", checkNeverStarted},
				{"outside restart", checkOutsideRestart},
				{"stop while starting", checkStopWhileStarting},
			} {
				t.Run(c.what, func(t *testing.T) {
					sub := *m
					sub.t = t
					c.check(&sub)
				})
			}
			// Last: it reboots the machine.
			t.Run("went down", func(t *testing.T) {
				saved := m.t
				m.t = t
				defer func() { m.t = saved }()
				checkWentDown(m)
			})
		})
	}
}

// checkNeverStarted: a program systemd cannot execute (its interpreter is
// missing).
func checkNeverStarted(m *machine) {
	t := m.t
	m.inside("sh", "-c", `printf '#!/nonexistent/interpreter\n' > /usr/local/bin/no-interpreter && chmod +x /usr/local/bin/no-interpreter`)
	if r := m.runctl("run", "-d", "-n", "never", "--", "/usr/local/bin/no-interpreter"); r.code == 0 {
		t.Errorf("run -d of a program systemd cannot execute exits 0:\n%v", r)
	}
	const never = "did not start: 203/EXEC"
	m.eventually(func() string {
		if r := m.runctl("ls"); !strings.Contains(r.stdout, never) {
			return "ls of a run whose first start failed:\n" + r.stdout
		}
		return ""
	})
	m.inside("systemctl", "reset-failed", "runctl-never.service")
	m.unloaded("never")
	m.eventually(func() string {
		if r := m.runctl("ls"); !strings.Contains(r.stdout, "stopped ("+never+")") {
			return "ls of a run whose first start failed, once systemd forgot it:\n" + r.stdout
		}
		if r := m.runctl("status", "never"); !strings.Contains(r.stdout, "Last exit: "+never) {
			return "status of a run whose first start failed, once systemd forgot it:\n" + r.stdout
		}
		return ""
	})

}

// checkOutsideRestart: the earlier instance was killed by SIGTERM.
func checkOutsideRestart(m *machine) {
	m.ok("run", "-d", "-n", "plain", "--", "sleep", "1001")
	m.ok("run", "-d", "-n", "again", "--restart", "on-failure", "--", "sleep", "1002")
	for _, name := range []string{"plain", "again"} {
		m.inside("systemctl", "restart", "runctl-"+name+".service")
		m.eventually(func() string {
			if r := m.runctl("status", name); !strings.Contains(r.stdout, "Last exit: killed by SIGTERM") {
				return "status after systemctl restart of " + name + ":\n" + r.stdout
			}
			return ""
		})
	}

}

// checkStopWhileStarting: stop while a --notify run is still starting.
func checkStopWhileStarting(m *machine) {
	t := m.t
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	starting := m.sb.Command(ctx, binDir+"/runctl", "run", "-d", "--notify", "-n", "slow", "--", "sleep", "1003")
	starting.Env = append(os.Environ(), "PATH="+binDir+":/usr/sbin:/usr/bin:/sbin:/bin")
	if err := starting.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- starting.Wait() }()
	m.eventually(func() string {
		if st := m.show("runctl-slow.service", "ActiveState"); st != "activating" {
			return "the --notify run is " + st + ", want activating"
		}
		return ""
	})
	began := time.Now()
	r := m.runctl("stop", "slow")
	took := time.Since(began)
	if r.code != 0 || took > 10*time.Second {
		t.Errorf("stop of a --notify run still starting took %v:\n%v", took.Round(time.Millisecond), r)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("run -d of the --notify run stopped while starting exits 0")
		}
	case <-time.After(10 * time.Second):
		t.Errorf("run -d of the --notify run stopped while starting still waits")
	}
	if st := m.show("runctl-slow.service", "ActiveState"); st == "active" || st == "activating" {
		t.Errorf("the --notify run is %s after stop", st)
	}
	m.eventually(func() string {
		if r := m.runctl("ls"); !strings.Contains(r.stdout, "stopped by runctl") {
			return "ls after stopping a --notify run while it started:\n" + r.stdout
		}
		return ""
	})
}

// checkWentDown: a run running when the machine went down, by a reboot
// and by a power cut (PID 1 killed), says so and names that boot.
func checkWentDown(m *machine) {
	for _, end := range []string{"reboot", "power cut"} {
		name := strings.ReplaceAll(end, " ", "")
		m.ok("run", "-d", "-n", name, "--", "sleep", "1004")
		id, err := m.sb.BootID()
		if err != nil {
			m.t.Fatal(err)
		}
		want := "was running when boot " + strings.ReplaceAll(id, "-", "")[:8] + " went down"
		if end == "reboot" {
			m.close()
		} else {
			if err := m.sb.PowerCut(); err != nil {
				m.t.Fatal(err)
			}
			m.sb = nil
		}
		m.boot()
		if r := m.ok("ls"); !strings.Contains(r.stdout, want) {
			m.t.Errorf("after a %s, ls:\n%s\nwant %q", end, r.stdout, want)
		}
		if r := m.runctl("status", name); !strings.Contains(r.stdout, "Last exit: "+want) {
			m.t.Errorf("after a %s, status:\n%s\nwant %q", end, r.stdout, want)
		}
	}
}
