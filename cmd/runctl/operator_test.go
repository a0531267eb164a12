package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runctl/runctl/sandbox"
)

// operatorMember installs what the package ships for operators, the
// operator service (its ExecStart this test's runctl) and any polkit rule,
// and makes rctlop a member of the runctl group.
func operatorMember(t *testing.T) {
	t.Helper()
	sandbox.Need(t, sbOf(t))
	ensureUser(t, "rctlop", "runctl")
	changed := false
	install := func(path string, b []byte) {
		if old, err := os.ReadFile(sbOf(t).Path(path)); err == nil && string(old) == string(b) {
			return
		}
		if err := os.WriteFile(sbOf(t).Path(path), b, 0o644); err != nil {
			t.Fatal(err)
		}
		changed = true
	}
	units, _ := filepath.Glob("../../packaging/systemd/runctl.operator*")
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		install("/etc/systemd/system/"+filepath.Base(u), []byte(strings.ReplaceAll(string(b), "/usr/bin/runctl", binDir+"/runctl")))
	}
	if changed {
		inside(t, "systemctl", "daemon-reload")
		inside(t, "systemctl", "restart", "runctl.operator.socket")
	}
	// polkit decides what members may do over D-Bus: with the rules the
	// package ships, if any.
	changed = false
	rules, _ := filepath.Glob("../../packaging/polkit/*.rules")
	for _, r := range rules {
		b, err := os.ReadFile(r)
		if err != nil {
			t.Fatal(err)
		}
		install("/etc/polkit-1/rules.d/"+filepath.Base(r), b)
	}
	if changed {
		inside(t, "systemctl", "restart", "polkit.service")
	}
	inside(t, "systemctl", "start", "polkit.service")
}

// A member of the runctl group stops, starts and restarts the system
// manager's runs with runctl, through the operator service, and gets the
// local verb's output and exit code; a non-member is refused by the
// service; and no member gets more from D-Bus than the verbs do: no job
// mode that cancels other jobs (flush: a poweroff's; replace-irreversibly;
// isolate), no signal.
func TestOperatorService(t *testing.T) {
	alone(t)
	operatorMember(t)
	ensureUser(t, "rctlvis")
	name, enabled := runName(t), runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "--enable", "-n", enabled, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	t.Cleanup(func() { runctl(t, "rm", "-f", name, enabled) })
	member := func(args ...string) result {
		return asUser(t, "rctlop", nil, append([]string{"--system"}, args...)...)
	}
	active := func(name string) string {
		t.Helper()
		return strings.TrimSpace(mustOutRoot(t, "systemctl", "show", "-P", "ActiveState", "runctl-"+name+".service"))
	}

	t.Run("verbs", func(t *testing.T) {
		if r := member("stop", name); r.code != 0 || !strings.HasPrefix(r.stdout, "stopped "+name+": ") || r.stderr != "" {
			t.Fatalf("stop as a member: %v", r)
		}
		if r := member("stop", name); r.code != 0 || r.stdout != name+" is not running\n" {
			t.Errorf("stop of a stopped run as a member: %v", r)
		}
		if r := member("start", name); r.code != 0 || !strings.HasPrefix(r.stdout, "started "+name+" (unit runctl-"+name+".service, pid ") {
			t.Fatalf("start as a member: %v", r)
		}
		// A transient run too: the service restarts it from its spec.
		if r := member("restart", name); r.code != 0 || !strings.Contains(r.stdout, "restarted "+name+" in ") {
			t.Errorf("restart of a transient run as a member: %v", r)
		}
		if r := member("restart", enabled); r.code != 0 || !strings.Contains(r.stdout, "restarted "+enabled+" in ") {
			t.Errorf("restart of an enabled run as a member: %v", r)
		}
		var rec struct{ Name, Unit string }
		if r := member("--json", "restart", name); r.code != 0 || json.Unmarshal([]byte(r.stdout), &rec) != nil || rec.Name != name {
			t.Errorf("restart --json as a member: %v", r)
		}
		// What -H runs on a robot whose account is a member.
		var env struct {
			Exit   int
			Result struct{ Name string }
		}
		if r := member("--fleet-protocol=1", "restart", name); r.code != 0 || json.Unmarshal([]byte(r.stdout), &env) != nil || env.Exit != 0 || env.Result.Name != name {
			t.Errorf("restart under -H as a member: %v", r)
		}
		// The local verb's exit code and message: 5 for a name runctl
		// does not know.
		local := runctl(t, "stop", "nosuch-"+name)
		if r := member("stop", "nosuch-"+name); r.code != local.code || r.code != 5 || r.stderr != local.stderr {
			t.Errorf("stop of an unknown run as a member: %v\nas root: %v", r, local)
		}
		if s := active(name); s != "active" {
			t.Errorf("after the member's verbs %s is %s", name, s)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, args := range [][]string{{"stop", "--force", name}, {"stop", "--timeout=1ms", name}, {"restart", "--force", name}, {"restart", "--update-env", name}} {
			if r := member(args...); r.code == 0 || !strings.Contains(r.stderr, "needs root") {
				t.Errorf("%q as a member: %v", args, r)
			}
		}
		if r := asUser(t, "rctlvis", nil, "--system", "stop", name); r.code == 0 || !strings.Contains(r.stderr, "permission denied") || !strings.Contains(r.stderr, "operator service") {
			t.Errorf("stop as a non-member: %v", r)
		}
		if r := asUser(t, "rctlvis", nil, "--system", "restart", enabled); r.code == 0 || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("restart as a non-member: %v", r)
		}
		if s := active(name); s != "active" {
			t.Errorf("after refused verbs %s is %s", name, s)
		}
	})
	t.Run("no raw D-Bus", func(t *testing.T) {
		name := runName(t)
		if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
			t.Fatal(r)
		}
		t.Cleanup(func() { runctl(t, "rm", "-f", name) })
		pid := mainPID(t, name)
		for _, call := range [][]string{
			{"StopUnit", "ss", "runctl-" + name + ".service", "flush"},
			{"StopUnit", "ss", "runctl-" + name + ".service", "replace-irreversibly"},
			{"StopUnit", "ss", "runctl-" + name + ".service", "isolate"},
			{"RestartUnit", "ss", "runctl-" + enabled + ".service", "replace-irreversibly"},
			{"StartUnit", "ss", "runctl-" + enabled + ".service", "isolate"},
			{"KillUnit", "ssi", "runctl-" + name + ".service", "all", "19"},
		} {
			// Each call on a running run (on a host that allowed the one
			// before, it may have ended it).
			if r := runctl(t, "start", name); r.code != 0 {
				t.Fatal(r)
			}
			out, err := sbOf(t).CommandIn(t.Context(), "/", "setpriv", append([]string{"--reuid=rctlop", "--regid=rctlop", "--init-groups",
				"busctl", "--allow-interactive-authorization=no", "call", "org.freedesktop.systemd1", "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"}, call...)...).CombinedOutput()
			switch {
			case err == nil:
				t.Errorf("a member's %q was allowed: %s", call, out)
			case !strings.Contains(string(out), "Access denied") && !strings.Contains(string(out), "Interactive authentication required"):
				t.Errorf("a member's %q failed, but not for want of authorization: %s", call, out)
			}
		}
		if s := active(name); s != "active" || mainPID(t, name) != pid {
			t.Errorf("after the member's refused calls %s is %s", name, s)
		}
		if st := strings.TrimSpace(mustOutRoot(t, "sh", "-c", "grep State: /proc/"+strconv.Itoa(pid)+"/status")); strings.Contains(st, "stopped") {
			t.Errorf("a member's KillUnit stopped the run: %s", st)
		}
	})
}
