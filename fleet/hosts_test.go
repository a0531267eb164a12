package fleet_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

type record struct {
	Host    string          `json:"host"`
	Outcome string          `json:"outcome"`
	Error   string          `json:"error"`
	Result  json.RawMessage `json:"result"`
}

func records(t *testing.T, r result) map[string]record {
	t.Helper()
	var recs []record
	if err := json.Unmarshal([]byte(r.stdout), &recs); err != nil {
		t.Fatalf("output is not a JSON array of host records: %v\n%v", err, r)
	}
	m := map[string]record{}
	for _, rec := range recs {
		m[rec.Host] = rec
	}
	return m
}

func TestParallelRunLsRestart(t *testing.T) {
	t.Parallel()
	name := runName(t)
	r := runctl(t, "-H", hosts(3), "run", "-d", "-n", name, "-E", "GREETING=hi", "--", "sh", "-c", "echo $GREETING from $(hostname); sleep 1000")
	if r.code != 0 || !strings.Contains(r.stdout, "3 ok") {
		t.Fatalf("run -d on 3 hosts: %v", r)
	}
	for i := range 3 {
		if !strings.Contains(r.stdout, fl.Alias(i)) {
			t.Errorf("run output lacks a line for %s:\n%s", fl.Alias(i), r.stdout)
		}
		// The run got -E and nothing of the local environment.
		pid := strings.TrimSpace(on(t, i, "systemctl", "show", "-P", "MainPID", "runctl-"+name+".service"))
		env := on(t, i, "cat", "/proc/"+pid+"/environ")
		if !strings.Contains(env, "GREETING=hi") || strings.Contains(env, "RUNCTL_SSH") || strings.Contains(env, "SSH_CONNECTION") {
			t.Errorf("robot %d: the run's environment is %q; want GREETING and nothing local or of the ssh session", i+1, env)
		}
	}
	r = runctl(t, "-H", hosts(3), "ls")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "HOST") {
		t.Fatalf("ls: %v", r)
	}
	for i := range 3 {
		if !strings.Contains(r.stdout, fl.Alias(i)+"  "+name) && !strings.Contains(r.stdout, fl.Alias(i)+" ") {
			t.Errorf("ls lacks %s's run:\n%s", fl.Alias(i), r.stdout)
		}
	}
	// Each host's run with its CPU time and memory, as a local ls shows.
	lines := strings.Split(r.stdout, "\n")
	cpuAt, memAt := strings.Index(lines[0], " CPU ")+1, strings.Index(lines[0], " MEM ")+1
	if cpuAt == 0 || memAt == 0 {
		t.Fatalf("-H ls has no CPU and MEM columns:\n%s", r.stdout)
	}
	for _, l := range lines[1:] {
		if f := strings.Fields(l); len(f) > 1 && f[1] == name && len(l) > memAt {
			cpu, mem := strings.Fields(l[cpuAt:])[0], strings.Fields(l[memAt:])[0]
			if !strings.HasSuffix(cpu, "s") || !strings.ContainsAny(mem[len(mem)-1:], "KMG") {
				t.Errorf("-H ls CPU, MEM of %s on %s = %q, %q; want a CPU time and a size:\n%s", name, f[0], cpu, mem, r.stdout)
			}
		}
	}
	// Destinations as ssh takes them: user@address and ssh:// with a port.
	r = runctl(t, "-H", "root@"+fl.Addr(1)+",ssh://root@"+fl.Addr(2)+":22", "ls")
	if r.code != 0 || !strings.Contains(r.stdout, "ssh://root@"+fl.Addr(2)+":22  "+name) || !strings.Contains(r.stdout, "2 ok") {
		t.Errorf("ls on user@host and ssh:// destinations: %v", r)
	}
	r = runctl(t, "-H", hosts(3), "--json", "ls")
	recs := records(t, r)
	for i := range 3 {
		rec := recs[fl.Alias(i)]
		var runs []map[string]any
		if rec.Outcome != "ok" || json.Unmarshal(rec.Result, &runs) != nil {
			t.Fatalf("ls --json record of %s: %+v", fl.Alias(i), rec)
		}
		found := false
		for _, run := range runs {
			found = found || (run["name"] == name && run["host"] == fl.Alias(i) && run["state"] == "active")
		}
		if !found {
			t.Errorf("ls --json of %s has no active %s with host set: %s", fl.Alias(i), name, rec.Result)
		}
	}
	before := on(t, 0, "systemctl", "show", "-P", "InvocationID", "runctl-"+name+".service")
	r = runctl(t, "-H", hosts(3), "--json", "restart", name)
	recs = records(t, r)
	if r.code != 0 || len(recs) != 3 {
		t.Fatalf("restart on 3 hosts: %v", r)
	}
	for h, rec := range recs {
		if rec.Outcome != "ok" || !strings.Contains(string(rec.Result), `"name": "`+name+`"`) && !strings.Contains(string(rec.Result), `"name":"`+name+`"`) {
			t.Errorf("restart record of %s: %+v", h, rec)
		}
	}
	if after := on(t, 0, "systemctl", "show", "-P", "InvocationID", "runctl-"+name+".service"); after == before {
		t.Errorf("robot 1's run was not restarted (invocation %s unchanged)", before)
	}
}

// prog puts a copy of sleep at /root/NAME on every robot, for runs whose
// executable a test removes on one robot.
func prog(t *testing.T, name string) string {
	t.Helper()
	p := "/root/" + name
	for i := range fl.Robots {
		on(t, i, "cp", "/bin/sleep", p)
	}
	t.Cleanup(func() {
		for i := range fl.Robots {
			fl.Robots[i].Command(context.Background(), "rm", "-f", p).Run()
		}
	})
	return p
}

func invocation(t *testing.T, i int, name string) string {
	t.Helper()
	return strings.TrimSpace(on(t, i, "systemctl", "show", "-P", "InvocationID", "runctl-"+name+".service"))
}

// A failing restart under --serial 1 --max-fail 0 stops the roll: the
// hosts after it are skipped and their runs left exactly as they were.
func TestSerialRestartStopsAtFailure(t *testing.T) {
	t.Parallel()
	name := runName(t)
	p := prog(t, name)
	if r := runctl(t, "-H", hosts(3), "run", "-d", "-n", name, "--", p, "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	on(t, 1, "rm", p) // robot-2's restart now fails its pre-flight check
	before := []string{invocation(t, 0, name), invocation(t, 1, name), invocation(t, 2, name)}
	r := runctl(t, "-H", hosts(3), "--serial", "1", "--max-fail", "0", "--json", "restart", name)
	recs := records(t, r)
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	want := map[string]string{"robot-1": "ok", "robot-2": "failed", "robot-3": "skipped"}
	for h, o := range want {
		if recs[h].Outcome != o {
			t.Errorf("%s: outcome %q (%s), want %s\n%v", h, recs[h].Outcome, recs[h].Error, o, r)
		}
	}
	if !strings.Contains(recs["robot-2"].Error, "not") {
		t.Errorf("robot-2's error does not say why: %q", recs["robot-2"].Error)
	}
	if invocation(t, 0, name) == before[0] {
		t.Error("robot-1 was not restarted")
	}
	if invocation(t, 1, name) != before[1] || invocation(t, 2, name) != before[2] {
		t.Error("robot-2's running instance or robot-3 was touched")
	}
	// The same as text: a line per host and the summary.
	r = runctl(t, "-H", hosts(3), "--serial", "1", "restart", name)
	if r.code != 1 || !strings.Contains(r.stdout, "1 ok, 1 failed, 1 skipped") {
		t.Errorf("text restart: %v", r)
	}
	for _, l := range []string{"robot-1  ok", "robot-2  failed", "robot-3  skipped"} {
		if !strings.Contains(r.stdout, l) {
			t.Errorf("text output lacks %q:\n%s", l, r.stdout)
		}
	}
}

// ok, failed, unreachable and skipped hosts in one roll, each with its own
// outcome, and exit 1; with every host fine again, exit 0.
func TestMixedOutcomes(t *testing.T) {
	name := runName(t)
	p := prog(t, name)
	if r := runctl(t, "-H", hosts(3), "run", "-d", "-n", name, "--", p, "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	on(t, 1, "rm", p)
	if err := fl.LinkDown(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	defer fl.LinkUp(context.Background(), 2)
	// robot-1 is named a second time by address: a fourth host, last.
	fourth := "root@" + fl.Addr(0)
	r := runctl(t, "-H", "robot-1,robot-3,robot-2,"+fourth, "--serial", "1", "--max-fail", "1", "--json", "restart", name)
	recs := records(t, r)
	want := map[string]string{"robot-1": "ok", "robot-3": "unreachable", "robot-2": "failed", fourth: "skipped"}
	for h, o := range want {
		if recs[h].Outcome != o {
			t.Errorf("%s: outcome %q (%s), want %s", h, recs[h].Outcome, recs[h].Error, o)
		}
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
	if e := recs["robot-3"].Error; e == "" {
		t.Error("the unreachable host has no error")
	}
	// Without --serial, an unreachable host does not keep the others from
	// finishing.
	r = runctl(t, "-H", hosts(3), "ls")
	if r.code != 1 || !strings.Contains(r.stdout, "2 ok, 1 unreachable") || !strings.Contains(r.stdout, "robot-3  unreachable") {
		t.Errorf("ls with robot-3 down: %v", r)
	}
	if err := fl.LinkUp(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	if r := runctl(t, "-H", hosts(3), "ls"); r.code != 0 || !strings.Contains(r.stdout, "3 ok") {
		t.Errorf("ls with every robot up: %v", r)
	}
}

// A host that does not answer within --host-timeout is given up; the
// others finish.
func TestHostTimeout(t *testing.T) {
	t.Parallel()
	name := runName(t)
	if r := runctl(t, "-H", "robot-1", "run", "-d", "-n", name, "--", "sh", "-c", `trap "" TERM; while :; do sleep 1; done`); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	// 10 s: robot-2 answers in well under a second, but not on a busy machine.
	r := runctl(t, "-H", "robot-1,robot-2", "--host-timeout", "10s", "--json", "stop", "--timeout", "60s", name)
	recs := records(t, r)
	if recs["robot-1"].Outcome != "timeout" || !strings.Contains(recs["robot-1"].Error, "--host-timeout") {
		t.Errorf("robot-1: %+v, want timeout", recs["robot-1"])
	}
	if recs["robot-2"].Outcome != "failed" { // no such run there
		t.Errorf("robot-2: %+v, want failed", recs["robot-2"])
	}
	if r.code != 1 {
		t.Errorf("exit %d, want 1", r.code)
	}
}

func TestInventories(t *testing.T) {
	name := runName(t)
	dir := t.TempDir()
	ini := filepath.Join(dir, "hosts")
	os.WriteFile(ini, []byte(fmt.Sprintf("[front]\nnav-a ansible_host=%s ansible_user=root ansible_port=22\n\n[back]\nnav-b ansible_host=%s\n\n[robots:children]\nfront\nback\n", fl.Addr(0), fl.Addr(1))), 0o644)
	yml := filepath.Join(dir, "hosts.yml")
	os.WriteFile(yml, []byte(fmt.Sprintf("all:\n  children:\n    robots:\n      hosts:\n        arm-c:\n          ansible_host: %s\n          ansible_port: 22\n        arm-a:\n          ansible_host: %s\n", fl.Addr(2), fl.Addr(0))), 0o644)
	for _, c := range []struct {
		inv   string
		hosts map[string]int // inventory name -> robot
	}{{ini, map[string]int{"nav-a": 0, "nav-b": 1}}, {yml, map[string]int{"arm-c": 2, "arm-a": 0}}} {
		r := runctl(t, "--inventory", c.inv, "-H", "@robots", "--json", "run", "-d", "--replace", "-n", name, "--", "sleep", "1000")
		recs := records(t, r)
		if r.code != 0 || len(recs) != len(c.hosts) {
			t.Fatalf("%s: run on @robots: %v", c.inv, r)
		}
		for h, i := range c.hosts {
			if recs[h].Outcome != "ok" || invocation(t, i, name) == "" {
				t.Errorf("%s: %s (robot %d): %+v", c.inv, h, i+1, recs[h])
			}
		}
	}
	// The default inventory: $XDG_CONFIG_HOME/runctl/hosts.
	def := filepath.Join(fl.Dir, "config", "runctl", "hosts")
	os.MkdirAll(filepath.Dir(def), 0o755)
	os.WriteFile(def, []byte(fmt.Sprintf("[solo]\nonly ansible_host=%s\n", fl.Addr(1))), 0o644)
	defer os.Remove(def)
	if r := runctl(t, "-H", "@solo", "ls"); r.code != 0 || !strings.Contains(r.stdout, "only ") || !strings.Contains(r.stdout, "1 ok") {
		t.Errorf("default inventory: %v", r)
	}
	// An unknown group or inventory file: an error before any host is touched.
	other := name + "x"
	for _, args := range [][]string{
		{"--inventory", ini, "-H", "robot-1,@nope"},
		{"--inventory", filepath.Join(dir, "missing"), "-H", "robot-1"},
	} {
		r := runctl(t, append(args, "run", "-d", "-n", other, "--", "sleep", "1000")...)
		if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "inventory") {
			t.Errorf("%q: %v", args, r)
		}
	}
	if st := strings.TrimSpace(on(t, 0, "systemctl", "show", "-P", "LoadState", "runctl-"+other+".service")); st != "not-found" {
		t.Errorf("robot-1 was touched: runctl-%s is %s", other, st)
	}
}

func TestMissingRemoteRunctl(t *testing.T) {
	need(t)
	on(t, 2, "mv", "/usr/local/bin/runctl", "/usr/local/bin/runctl.away")
	defer fl.Robots[2].Command(context.Background(), "mv", "/usr/local/bin/runctl.away", "/usr/local/bin/runctl").Run()
	r := runctl(t, "-H", hosts(3), "--json", "ls")
	recs := records(t, r)
	if r.code != 1 || recs["robot-1"].Outcome != "ok" || recs["robot-3"].Outcome != "failed" ||
		!strings.Contains(recs["robot-3"].Error, "not on the remote PATH") || !strings.Contains(recs["robot-3"].Error, "--remote-runctl") {
		t.Errorf("ls with no runctl on robot-3: %v", r)
	}
	// --remote-runctl names it; an older runctl that does not know the
	// fleet protocol is named as such.
	if r := runctl(t, "-H", "robot-3", "--remote-runctl", "/usr/local/bin/runctl.away", "ls"); r.code != 0 {
		t.Errorf("--remote-runctl: %v", r)
	}
	on(t, 2, "sh", "-c", `printf '#!/bin/sh\necho "runctl: unknown flag --fleet-protocol, did you mean one of ..." >&2\nexit 2\n' > /root/old-runctl; chmod +x /root/old-runctl`)
	r = runctl(t, "-H", "robot-3", "--remote-runctl", "/root/old-runctl", "ls")
	if r.code != 1 || !strings.Contains(r.stdout, "predates fleet support") {
		t.Errorf("older remote runctl: %v", r)
	}
}

// logs -f from two hosts: lines from both, interleaved as they arrive,
// each prefixed by its host.
func TestLogsFollowTwoHosts(t *testing.T) {
	t.Parallel()
	name := runName(t)
	if r := runctl(t, "-H", "robot-1,robot-2", "run", "-d", "-n", name, "--", "sh", "-c", `i=0; while :; do i=$((i+1)); echo "tick $i on $(hostname)"; sleep 0.2; done`); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := runctlCmd(t, ctx, "-H", "robot-1,robot-2", "logs", "-f", name)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Signal(syscall.SIGTERM)
	sc := bufio.NewScanner(out)
	// Both hosts' lines, each behind its own host's prefix; and lines of
	// one host arrive while the other's keep coming (not one host after
	// the other): the backlogs come in bulk, then the live lines
	// alternate. On a busy machine one host's backlog may come late, so
	// lines are read until they alternate, within the minute.
	seen := map[string]int{}
	var lines []string
	switches := 0
	done := func() bool { return seen["robot-1"] >= 25 && seen["robot-2"] >= 25 && switches >= 6 }
	for !done() && sc.Scan() {
		l := sc.Text()
		host, text, ok := strings.Cut(l, " | ")
		if !ok {
			t.Fatalf("line without a host prefix: %q", l)
		}
		host = strings.TrimSpace(host)
		if strings.Contains(text, ": tick ") && !strings.HasSuffix(text, " on "+host) {
			t.Fatalf("line %q is prefixed by the wrong host", l)
		}
		if strings.Contains(text, ": tick ") {
			seen[host]++
		}
		if len(lines) > 0 && lines[len(lines)-1][:7] != l[:7] {
			switches++
		}
		lines = append(lines, l)
	}
	if !done() {
		t.Fatalf("logs -f ended (%v) before both hosts' lines came, interleaved (%d switches):\n%s", sc.Err(), switches, strings.Join(lines, "\n"))
	}
}

// A key restricted with command="runctl serve-ssh" runs the read and
// lifecycle verbs on existing runs, -H works through it unchanged, and
// anything else is refused: other commands, shell syntax, -H on the far
// side however spelled, and run unless the key grants it, then only with
// the programs it lists.
func TestRestrictedKey(t *testing.T) {
	name := runName(t)
	key := filepath.Join(t.TempDir(), "id")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, _ := os.ReadFile(key + ".pub")
	ak := fl.Robots[0].Path("/root/.ssh/authorized_keys")
	orig, err := os.ReadFile(ak)
	if err != nil {
		t.Fatal(err)
	}
	// The restricted key's line is added to the fleet's own; this test
	// offers only the restricted key.
	restrict := func(command string) {
		t.Helper()
		if err := os.WriteFile(ak, []byte(string(orig)+"\n"+`restrict,command="`+command+`" `+string(pub)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	defer os.WriteFile(ak, orig, 0o600)
	cfg := filepath.Join(t.TempDir(), "ssh_config")
	base, _ := os.ReadFile(fl.SSHConfig)
	os.WriteFile(cfg, []byte(strings.ReplaceAll(string(base), fl.Key, key)), 0o644)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// A control folder of its own: the package's has a master logged in
	// with the unrestricted key.
	rt := privateDir(t)
	fleetRun := func(args ...string) string {
		t.Helper()
		cmd := runctlCmd(t, ctx, append([]string{"-H", "robot-1", "--json"}, args...)...)
		cmd.Env = append(cmd.Env, "RUNCTL_SSH=ssh -F "+cfg, "XDG_RUNTIME_DIR="+rt)
		out, _ := cmd.CombinedOutput()
		return string(out)
	}
	direct := func(c string) string {
		t.Helper()
		out, _ := exec.CommandContext(ctx, "ssh", "-F", cfg, "-o", "ControlMaster=no", "robot-1", c).CombinedOutput()
		return string(out)
	}

	restrict("runctl serve-ssh")
	// By default: no run, whichever way it is asked for.
	if out := fleetRun("run", "-d", "-n", name, "--", "/usr/bin/sleep", "1000"); !strings.Contains(out, "run needs --allow run") {
		t.Errorf("run -d through a key without --allow run:\n%s", out)
	}
	if on(t, 0, "sh", "-c", "systemctl show -P LoadState runctl-"+name+".service") != "not-found\n" {
		t.Fatal("the run was started through a key without --allow run")
	}
	for _, c := range []string{"cat /etc/shadow", "runctl ls; sh", "runctl ls $(id)", "runctl -H robot-2 ls", "sh -c 'runctl ls'", "",
		"runctl run -d -n s -- /bin/cat /etc/shadow", "runctl ls -qH" + fl.Addr(1), "runctl --host=robot-2 ls", "runctl rm -f " + name} {
		if out := direct(c); !strings.Contains(out, "refused") || strings.Contains(out, "root:") {
			t.Errorf("%q through the restricted key:\n%s", c, out)
		}
	}

	restrict("runctl serve-ssh --allow run --allow-program /usr/bin/sleep")
	rt = privateDir(t) // the kept connection runs the key's old command
	if out := fleetRun("run", "-d", "-n", name, "--", "/usr/bin/sleep", "1000"); !strings.Contains(out, `"outcome": "ok"`) {
		t.Fatalf("run -d of a listed program through a key with --allow run:\n%s", out)
	}
	if invocation(t, 0, name) == "" {
		t.Fatal("the run did not start on robot-1")
	}
	for _, args := range [][]string{
		{"run", "-d", "-n", name + "x", "--", "/bin/cat", "/etc/shadow"},
		{"run", "-d", "-n", name + "x", "--", "sleep", "1000"},
		{"run", "-d", "-n", name + "x", "--uid", "nobody", "--", "/usr/bin/sleep", "1000"},
		{"run", "-d", "-n", name + "x", "-pExecStartPre=/bin/sh -c 'id > /root/pwned'", "--", "/usr/bin/sleep", "1000"},
		{"rm", "-f", name},
	} {
		if out := fleetRun(args...); !strings.Contains(out, "refused") || strings.Contains(out, `"outcome": "ok"`) {
			t.Errorf("%q through a key that grants run of /usr/bin/sleep only:\n%s", args, out)
		}
	}
	// The lifecycle verbs need no grant.
	for _, verb := range []string{"status", "restart", "stop", "start", "logs"} {
		if out := fleetRun(verb, name); strings.Contains(out, "refused") || strings.Contains(out, "failed") {
			t.Errorf("%s through the restricted key:\n%s", verb, out)
		}
	}
	if _, err := os.Stat(fl.Robots[0].Path("/root/pwned")); err == nil {
		t.Error("a property's command ran through the restricted key")
	}
}

// Every verb goes through -H: run (attached and -d), status, stop, start,
// enable, disable, rm.
func TestEveryVerb(t *testing.T) {
	t.Parallel()
	name := runName(t)
	two := hosts(2)
	r := runctl(t, "-H", two, "run", "-n", name+"a", "--", "sh", "-c", "echo attached on $(hostname); exit 3")
	if r.code != 1 || !strings.Contains(r.stdout, "robot-1 | attached on robot-1") || !strings.Contains(r.stdout, "robot-2 | attached on robot-2") ||
		!strings.Contains(r.stderr, "robot-1: failed: exit status 3") {
		t.Errorf("attached run: %v", r)
	}
	for _, h := range []int{0, 1} {
		fl.Robots[h].Command(context.Background(), "/usr/local/bin/runctl", "rm", "-f", name+"a").Run()
	}
	steps := []struct {
		args []string
		want string // in the text output
	}{
		{[]string{"run", "-d", "-n", name, "--", "sleep", "1000"}, "2 ok"},
		{[]string{"status", name}, "active"},
		{[]string{"stop", name}, "2 ok"},
		{[]string{"status", name}, "stopped"},
		{[]string{"start", name}, "2 ok"},
		{[]string{"enable", name}, "2 ok"},
		{[]string{"disable", name}, "2 ok"},
		{[]string{"rm", "-f", name}, "2 ok"},
	}
	for _, s := range steps {
		r := runctl(t, append([]string{"-H", two}, s.args...)...)
		if r.code != 0 || !strings.Contains(r.stdout, s.want) || !strings.Contains(r.stdout, "2 ok") {
			t.Errorf("%q: want %q and 2 ok: %v", s.args, s.want, r)
		}
	}
	if st := strings.TrimSpace(on(t, 1, "systemctl", "show", "-P", "LoadState", "runctl-"+name+".service")); st != "not-found" {
		t.Errorf("after rm -f, robot-2's unit is %s", st)
	}
}

// On a terminal: a progress line while rolling, coloured host prefixes.
func TestTerminalViews(t *testing.T) {
	t.Parallel()
	name := runName(t)
	if r := runctl(t, "-H", hosts(2), "run", "-d", "-n", name, "--", "sh", "-c", "echo hello; sleep 1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	// script(1) gives runctl a pseudo-terminal for stdout and stderr.
	tty := func(args ...string) string {
		var q []string
		for _, a := range append([]string{binDir + "/runctl"}, args...) {
			q = append(q, "'"+a+"'")
		}
		cmd := runctlCmd(t, t.Context(), "x")
		cmd.Args = []string{"script", "-qec", strings.Join(q, " "), "/dev/null"}
		cmd.Path, _ = exec.LookPath("script")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%q on a terminal: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := tty("-H", hosts(3), "--serial", "1", "ls"); !strings.Contains(out, "[batch 3/3] 3/3 hosts: 3 ok") {
		t.Errorf("no progress line on a terminal:\n%q", out)
	}
	if out := runctl(t, "-H", hosts(3), "--serial", "1", "ls"); strings.Contains(out.stderr+out.stdout, "[batch") {
		t.Errorf("a progress line without a terminal:\n%v", out)
	}
	// The prefix names the host, so the lines leave it out, also when a
	// global flag comes before the verb.
	r := runctl(t, "-H", hosts(2), "--system", "logs", "-n", "5", name)
	if r.code != 0 || !strings.Contains(r.stdout, "robot-2 | ") || regexp.MustCompile(`\| \S+ \d+ [\d:.]+ robot-`).MatchString(r.stdout) {
		t.Errorf("logs with a host prefix: %v", r)
	}
	if out := tty("-H", hosts(2), "logs", "-n", "5", name); !strings.Contains(out, "\033[36mrobot-1\033[0m | ") || !strings.Contains(out, "\033[33mrobot-2\033[0m | ") {
		t.Errorf("no coloured host prefixes on a terminal:\n%q", out)
	}
}
