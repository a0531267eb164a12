package main

// State integrity: the spec, its environment file and the unit file never
// disagree, whatever kills runctl or fills the disk, and runctl trusts
// neither a store nor a unit file someone else could have written.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/runctl/runctl/units"
)

const storeDir = "/var/lib/runctl/runs"

// keptSpec reads a run's spec as kept in the sandbox's store.
func keptSpec(t *testing.T, dir, name string) (units.Spec, bool) {
	t.Helper()
	data, err := os.ReadFile(sbOf(t).Path(dir + "/" + name + ".json"))
	if os.IsNotExist(err) {
		return units.Spec{}, false
	}
	var s units.Spec
	if err != nil || json.Unmarshal(data, &s) != nil {
		t.Fatalf("the spec of %s does not read back: %v\n%s", name, err, data)
	}
	return s, true
}

// procEnv reads a process's environment inside the sandbox.
func procEnv(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", pid)))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range nulSplit(b) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

func specVar(s units.Spec, name string) string {
	for _, kv := range s.Env {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

// checkRunsSpec fails unless the run's main process has exactly the argv
// and the GEN variable of the kept spec.
func checkRunsSpec(t *testing.T, dir, name, when string) {
	t.Helper()
	spec, ok := keptSpec(t, dir, name)
	if !ok {
		t.Fatalf("%s: no spec kept for %s", when, name)
	}
	pid := mainPID(t, name)
	if argv := procArgv(t, pid); !equal(argv, spec.Argv) {
		t.Fatalf("%s: the run executes %q, its spec says %q", when, argv, spec.Argv)
	}
	if got, want := procEnv(t, pid)["GEN"], specVar(spec, "GEN"); got != want {
		t.Fatalf("%s: the run has GEN=%q, its spec GEN=%q (argv %q)", when, got, want, spec.Argv)
	}
}

// A full disk while run replaces a stopped run's spec leaves the old spec
// and its environment in force: start runs the old argv with the old
// environment, not a mix.
func TestStoreFullDiskKeepsOneSpec(t *testing.T) {
	alone(t)
	name := runName(t)
	dir := "/var/lib/runctl-full-" + name
	inside(t, "mkdir", "-p", "-m", "0700", dir)
	inside(t, "mount", "-t", "tmpfs", "-o", "size=256k,mode=0700", "tmpfs", dir)
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "umount", "-l", dir).Run() })
	in := func(env []string, args ...string) result {
		cmd := runctlCmd(t, "/", args...)
		cmd.Env = append(cmd.Env, append(env, "RUNCTL_STATE_DIR="+dir)...)
		return finish(t, cmd)
	}
	if r := in([]string{"GEN=old"}, "run", "-d", "-n", name, "--", "sh", "-c", "sleep 1000; :", "old"); r.code != 0 {
		t.Fatal(r)
	}
	if r := in(nil, "stop", name); r.code != 0 {
		t.Fatal(r)
	}
	// One page left: room for the new environment file, not for the new
	// spec, whose argument alone takes three.
	inside(t, "sh", "-c", "cd "+dir+" && head -c 4096 /dev/zero >pad && (dd if=/dev/zero of=fill bs=4k 2>/dev/null; true) && rm pad")
	big := strings.Repeat("n", 12000)
	r := in([]string{"GEN=new"}, "run", "-d", "--replace", "-n", name, "--", "sh", "-c", "sleep 2000; :", big)
	if r.code == 0 || !strings.Contains(r.stderr, "no space left") {
		t.Fatalf("run on a full disk: %v", abbrev(r))
	}
	inside(t, "rm", dir+"/fill")
	if r := in(nil, "start", name); r.code != 0 {
		t.Fatal(r)
	}
	pid := mainPID(t, name)
	if argv := procArgv(t, pid); len(argv) != 4 || argv[3] != "old" {
		t.Fatalf("start after the failed run executes %q, want the old argv", argv)
	}
	if gen := procEnv(t, pid)["GEN"]; gen != "old" {
		t.Fatalf("start after the failed run has GEN=%q: the old argv with another spec's environment", gen)
	}
	checkRunsSpec(t, dir, name, "after the full disk")
}

// run --enable never overwrites an admin's unit file nor shadows a vendor
// unit, says whose file it is, and keeps nothing; ls does not take a
// foreign enabled runctl-*.service for an autostarted run.
func TestForeignUnitFiles(t *testing.T) {
	alone(t)
	admin, vendor, foreign := runName(t), runName(t), runName(t)
	adminFile := "/etc/systemd/system/runctl-" + admin + ".service"
	vendorFile := "/usr/lib/systemd/system/runctl-" + vendor + ".service"
	foreignFile := "/etc/systemd/system/runctl-" + foreign + ".service"
	content := "[Service]\nExecStart=/bin/sleep 1000\n\n[Install]\nWantedBy=multi-user.target\n"
	for _, f := range []string{adminFile, vendorFile, foreignFile} {
		if err := os.WriteFile(sbOf(t).Path(f), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		sbOf(t).Command(context.Background(), "systemctl", "disable", "runctl-"+foreign+".service").Run()
		for _, f := range []string{adminFile, vendorFile, foreignFile} {
			os.Remove(sbOf(t).Path(f))
		}
		sbOf(t).Command(context.Background(), "systemctl", "daemon-reload").Run()
	})
	inside(t, "systemctl", "daemon-reload")
	for _, c := range []struct{ name, file string }{{admin, adminFile}, {vendor, vendorFile}} {
		r := runctl(t, "run", "-d", "--enable", "-n", c.name, "--", "sleep", "2000")
		// Debian's /lib is /usr/lib: systemd names either.
		if r.code == 0 || !strings.Contains(r.stderr, strings.TrimPrefix(c.file, "/usr")+" is a unit file runctl did not write (owned by user root") || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
			t.Errorf("run --enable over %s: %v", c.file, r)
		}
		if got, _ := os.ReadFile(sbOf(t).Path(c.file)); string(got) != content {
			t.Errorf("%s was changed:\n%s", c.file, got)
		}
		if _, ok := keptSpec(t, storeDir, c.name); ok {
			t.Errorf("a spec was kept for the refused run %s", c.name)
		}
	}
	if _, err := os.Stat(sbOf(t).Path("/etc/systemd/system/runctl-" + vendor + ".service")); err == nil {
		t.Errorf("a unit file in /etc shadows the vendor unit")
	}
	inside(t, "systemctl", "enable", "--now", "runctl-"+foreign+".service")
	if on, ok := lsAutostart(t, foreign); !ok || on {
		t.Errorf("ls shows the foreign enabled unit runctl-%s.service with autostart %v (listed %v)", foreign, on, ok)
	}
}

// A spec edited by hand is refused, and shown damaged with its path and
// the fix: it never makes another run restart with its argv.
func TestTamperedSpec(t *testing.T) {
	shared(t)
	mm, victim, old := runName(t), runName(t), runName(t)
	for _, n := range []string{mm, victim, old} {
		if r := runctl(t, "run", "-d", "-n", n, "--", "sh", "-c", "sleep 1000; :", n); r.code != 0 {
			t.Fatal(r)
		}
		if r := runctl(t, "stop", n); r.code != 0 {
			t.Fatal(r)
		}
	}
	t.Cleanup(func() { runctl(t, "rm", mm, victim, old) })
	edit := func(name string, f func(map[string]any)) string {
		path := sbOf(t).Path(storeDir + "/" + name + ".json")
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var spec map[string]any
		if err := json.Unmarshal(data, &spec); err != nil {
			t.Fatal(err)
		}
		f(spec)
		data, _ = json.Marshal(spec)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return storeDir + "/" + name + ".json"
	}
	mmPath := edit(mm, func(s map[string]any) { s["name"] = victim })
	oldPath := edit(old, func(s map[string]any) { delete(s, "version") })
	for _, c := range []struct{ name, path, why string }{{mm, mmPath, `names run "` + victim + `"`}, {old, oldPath, "unknown version 0"}} {
		for _, verb := range []string{"restart", "start"} {
			r := runctl(t, verb, c.name)
			if r.code == 0 || !strings.Contains(r.stderr, "is damaged ("+c.path+": ") || !strings.Contains(r.stderr, c.why) || !strings.Contains(r.stderr, "runctl rm "+c.name) {
				t.Errorf("%s of a damaged spec: %v", verb, r)
			}
		}
		r := runctl(t, "status", c.name)
		if !strings.Contains(r.stdout, "Spec: ") || !strings.Contains(r.stdout, c.path) || strings.Contains(r.stderr, "no run named") {
			t.Errorf("status of a damaged spec: %v", r)
		}
	}
	if out := runctlUnits(t, victim); strings.Contains(out, victim+".service") && strings.Contains(out, "running") {
		t.Fatalf("the victim was started:\n%s", out)
	}
	for _, n := range []string{mm, old} {
		if f := strings.Fields(lsLine(t, n)); len(f) < 2 || f[1] != "damaged" {
			t.Errorf("ls does not show %s as damaged: %q", n, f)
		}
	}
	// rm forgets a damaged run, lock file included.
	if r := runctl(t, "rm", mm); r.code != 0 {
		t.Fatal(r)
	}
	if files := envFiles(t, mm); len(files) > 0 || slices.Contains(runFiles(t), mm+".lock") || slices.Contains(runFiles(t), mm+".json") {
		t.Errorf("rm left files of %s: %q", mm, runFiles(t))
	}
}

// A store folder another user owns or can write, a symlinked one, and a
// spec another user owns are refused with the reason: whoever controls
// them could choose what the user's runs execute.
func TestUntrustedStore(t *testing.T) {
	alone(t)
	name := runName(t)
	ensureUser(t, "rctlvis")
	inside(t, "sh", "-c", `set -e
rm -rf /var/lib/rstore-*
mkdir -m 0700 /var/lib/rstore-theirs /var/lib/rstore-real /var/lib/rstore-group /var/lib/rstore-file
chown rctlvis /var/lib/rstore-theirs
chmod 0770 /var/lib/rstore-group
ln -s /var/lib/rstore-real /var/lib/rstore-link`)
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "sh", "-c", "rm -rf /var/lib/rstore-*").Run() })
	cases := []struct{ dir, want string }{
		{"/var/lib/rstore-theirs", "/var/lib/rstore-theirs is owned by user rctlvis"},
		{"/var/lib/rstore-link", "/var/lib/rstore-link is a symbolic link"},
		{"/var/lib/rstore-group", "/var/lib/rstore-group can be written by other users (mode 0770)"},
	}
	for _, c := range cases {
		for _, args := range [][]string{{"run", "-d", "-n", name, "--", "sleep", "1000"}, {"ls"}} {
			cmd := runctlCmd(t, "/", args...)
			cmd.Env = append(cmd.Env, "RUNCTL_STATE_DIR="+c.dir)
			r := finish(t, cmd)
			if r.code == 0 || !strings.Contains(r.stderr, "refusing to use "+c.dir) || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%s with the store %s: %v", args[0], c.dir, r)
			}
		}
	}
	if u := runctlUnits(t, name); strings.Contains(u, name) {
		t.Fatalf("a run was started from an untrusted store:\n%s", u)
	}
	// A spec swapped in by another user, in a store of one's own.
	in := func(args ...string) result {
		cmd := runctlCmd(t, "/", args...)
		cmd.Env = append(cmd.Env, "RUNCTL_STATE_DIR=/var/lib/rstore-file")
		return finish(t, cmd)
	}
	if r := in("run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	inside(t, "chown", "rctlvis", "/var/lib/rstore-file/"+name+".json")
	r := in("restart", name)
	if r.code == 0 || !strings.Contains(r.stderr, "/var/lib/rstore-file/"+name+".json: it is owned by user rctlvis, not by you") {
		t.Errorf("restart from a spec another user owns: %v", r)
	}
}

// A Unicode noncharacter in an inherited variable no longer fails every
// run: the variable is dropped and named with --log-level info; given
// with -E it is refused.
func TestNoncharacterVariable(t *testing.T) {
	shared(t)
	name := runName(t)
	cmd := runctlCmd(t, "/", "--log-level", "info", "run", "-d", "-n", name, "--", "sleep", "1000")
	cmd.Env = append(cmd.Env, "ODD=a\ufdd0b", "FINE=1")
	r := finish(t, cmd)
	if r.code != 0 || !strings.Contains(r.stderr, "ODD") {
		t.Fatalf("run with ODD=U+FDD0 inherited: %v", r)
	}
	env := procEnv(t, mainPID(t, name))
	if _, ok := env["ODD"]; ok || env["FINE"] != "1" {
		t.Errorf("the run's environment: ODD present %v, FINE=%q", ok, env["FINE"])
	}
	r = runctl(t, "run", "-d", "-n", runName(t), "-E", "ODD=\ufdd0", "--", "sleep", "1000")
	if r.code == 0 || !strings.Contains(r.stderr, "U+FDD0") {
		t.Errorf("-E with U+FDD0: %v", r)
	}
}

// Limits systemd would read as "none", or that would wrap, are refused.
func TestLimitBounds(t *testing.T) {
	shared(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--restart=always", "--max-restarts", "3", "--within", "500ns"}, "restart interval 500ns is below 1us"},
		{[]string{"--restart=always", "--max-restarts", "4294967295"}, "at most 4294967294 restarts"},
		{[]string{"--stop-timeout", "999ns"}, "stop timeout 999ns is below 1us"},
	} {
		name := runName(t)
		r := runctl(t, slices.Concat([]string{"run", "-d", "-n", name}, c.args, []string{"--", "sleep", "1000"})...)
		if r.code == 0 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("run %q: %v", c.args, r)
		}
		if u := runctlUnits(t, name); strings.Contains(u, name) {
			t.Errorf("run %q made a unit:\n%s", c.args, u)
		}
	}
}

// With journald stopped, systemd would connect the program's output to
// /dev/null: an attached run says so instead of exiting 0 with nothing
// shown.
func TestAttachedRunWithoutJournald(t *testing.T) {
	alone(t)
	name := runName(t)
	sockets := []string{"systemd-journald.socket", "systemd-journald-dev-log.socket", "systemd-journald-audit.socket"}
	inside(t, "systemctl", append([]string{"stop", "systemd-journald.service"}, sockets...)...)
	t.Cleanup(func() {
		sbOf(t).Command(context.Background(), "systemctl", append([]string{"start", "systemd-journald.service"}, sockets...)...).Run()
	})
	r := runctl(t, "run", "-n", name, "--", "sh", "-c", "echo hello")
	if r.code == 0 || !strings.Contains(r.stderr, "journald is not running") || !strings.Contains(r.stderr, "-d") {
		t.Fatalf("attached run without journald: %v", r)
	}
	if u := runctlUnits(t, name); strings.Contains(u, name) {
		t.Fatalf("a unit was made:\n%s", u)
	}
}

// lsAutostart is `ls --json`'s autostart of the run.
func lsAutostart(t *testing.T, name string) (on, ok bool) {
	t.Helper()
	r := runctl(t, "ls", "--json")
	var runs []struct {
		Name      string `json:"name"`
		Autostart bool   `json:"autostart"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("ls --json: %v\n%v", err, r)
	}
	for _, run := range runs {
		if run.Name == name {
			return run.Autostart, true
		}
	}
	return false, false
}

// A restart --update-env that fails keeps the environment the run had:
// the next plain restart does not pick up the one that failed.
func TestFailedUpdateEnvIsNotKept(t *testing.T) {
	shared(t)
	name := runName(t)
	script := `test "$MODE" = ok || exit 3; sleep 1000; :`
	cmd := runctlCmd(t, "/", "run", "-d", "-n", name, "--", "sh", "-c", script)
	cmd.Env = append(cmd.Env, "MODE=ok")
	if r := finish(t, cmd); r.code != 0 {
		t.Fatal(r)
	}
	cmd = runctlCmd(t, "/", "restart", settle, "--update-env", name)
	cmd.Env = append(cmd.Env, "MODE=bad")
	if r := finish(t, cmd); r.code == 0 {
		t.Fatalf("restart --update-env into a program that exits 3: %v", r)
	}
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatalf("plain restart after the failed --update-env: %v", r)
	}
	if got := procEnv(t, mainPID(t, name))["MODE"]; got != "ok" {
		t.Fatalf("after the failed --update-env the run has MODE=%q, want the kept ok", got)
	}
	checkRunsSpec(t, storeDir, name, "after the failed --update-env")
}

// The case: a user's XDG_STATE_HOME points into a folder another
// user controls, who could swap the spec between two commands. runctl
// refuses that store before it keeps or starts anything.
func TestUserStoreInAnotherUsersFolder(t *testing.T) {
	alone(t)
	_, env := userManager(t, "robot")
	ensureUser(t, "rctlvis")
	shared := "/var/lib/shared-state"
	inside(t, "sh", "-c", "rm -rf "+shared+" && mkdir -m 0777 "+shared+" && chown rctlvis "+shared)
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "rm", "-rf", shared).Run() })
	env = append(env, "XDG_STATE_HOME="+shared)
	r := asUser(t, "robot", env, "run", "-d", "-n", "victim", "--", "sleep", "1000")
	if r.code == 0 || !strings.Contains(r.stderr, shared+" is owned by user rctlvis") {
		t.Fatalf("run with XDG_STATE_HOME in another user's folder: %v", r)
	}
	if out := mustOutRoot(t, "systemctl", "--user", "-M", "robot@", "list-units", "--all", "--no-legend", "runctl-*"); strings.Contains(out, "runctl-victim") || strings.Contains(out, "Failed") {
		t.Fatalf("the run was started:\n%s", out)
	}
}
