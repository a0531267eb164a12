package main

// runctl apply and runctl export: a stack file brought about in the
// sandbox's systemd, and runs written as a file that brings them back.

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// stackNames makes n run names for a test and forgets the runs afterwards.
func stackNames(t *testing.T, n int) []string {
	t.Helper()
	var names []string
	for range n {
		names = append(names, runName(t))
	}
	t.Cleanup(func() { runctl(t, append([]string{"rm", "--force"}, names...)...) })
	return names
}

// stackFile writes a stack file inside the sandbox and returns its path there.
func stackFile(t *testing.T, dir, text string) string {
	t.Helper()
	if err := os.MkdirAll(sbOf(t).Path(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sbOf(t).Path(dir)) })
	path := dir + "/stack.yaml"
	if err := os.WriteFile(sbOf(t).Path(path), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// applyOut runs apply and returns its per-run lines by run name.
func applied(r result) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(r.stdout+r.stderr), "\n") {
		for _, f := range strings.Fields(line) {
			f = strings.TrimSuffix(strings.TrimSuffix(f, ":"), ",")
			if regexp.MustCompile(`^t\d+$`).MatchString(f) {
				out[f] = line
				break
			}
		}
	}
	return out
}

func pids(t *testing.T, names ...string) []int {
	t.Helper()
	var out []int
	for _, n := range names {
		out = append(out, mainPID(t, n))
	}
	return out
}

type applyJSON struct {
	Stack  string `json:"stack"`
	DryRun bool   `json:"dry_run"`
	Runs   []struct {
		Name    string   `json:"name"`
		Action  string   `json:"action"`
		Changed []string `json:"changed"`
		Result  string   `json:"result"`
		Error   string   `json:"error"`
	} `json:"runs"`
	Failed int `json:"failed"`
}

func TestApply(t *testing.T) {
	alone(t)
	n := stackNames(t, 5)
	driver, nav, ui, bad, late := n[0], n[1], n[2], n[3], n[4]
	stackName := "s" + driver
	dir := "/var/tmp/" + stackName
	// nav comes first in the file but starts after driver; no dir: the
	// file's folder.
	text := fmt.Sprintf(`name: %s
runs:
  - name: %s
    command: [sh, -c, 'sleep 1000; :', nav]
    after: [%s]
  - name: %s
    command: [sh, -c, 'sleep 1000; :', driver]
    env: {ROBOT: "it's $HOME"}
    property: {Nice: 5}
  - name: %s
    command: [sh, -c, 'sleep 1000; :', ui]
    after: [%s]
    dir: /usr
`, stackName, nav, driver, driver, ui, nav)
	file := stackFile(t, dir, text)

	r := runctl(t, "apply", file)
	lines := applied(r)
	if r.code != 0 || !strings.HasPrefix(lines[driver], "started "+driver) || !strings.HasPrefix(lines[nav], "started "+nav) || !strings.HasPrefix(lines[ui], "started "+ui) {
		t.Fatalf("first apply: %v", r)
	}
	if i, j := strings.Index(r.stdout, "started "+driver), strings.Index(r.stdout, "started "+nav); i > j {
		t.Errorf("nav, after driver, was started before it:\n%s", r.stdout)
	}
	before := pids(t, driver, nav, ui)
	if cwd, _ := os.Readlink(sbOf(t).Path(fmt.Sprintf("/proc/%d/cwd", before[0]))); cwd != dir {
		t.Errorf("driver runs in %q, want the stack file's folder %s", cwd, dir)
	}
	if cwd, _ := os.Readlink(sbOf(t).Path(fmt.Sprintf("/proc/%d/cwd", before[2]))); cwd != "/usr" {
		t.Errorf("ui runs in %q, want its dir /usr", cwd)
	}
	environ, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", before[0])))
	if env := nulSplit(environ); !slices.Contains(env, "ROBOT=it's $HOME") || slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "RUNCTL_TEST_MARK=") }) {
		t.Errorf("driver's environment is %q: want its env, and nothing of the caller's", env)
	}

	// Again: nothing is touched.
	r = runctl(t, "apply", file)
	lines = applied(r)
	if r.code != 0 || lines[driver] != "unchanged "+driver || lines[nav] != "unchanged "+nav || lines[ui] != "unchanged "+ui {
		t.Fatalf("second apply: %v", r)
	}
	if got := pids(t, driver, nav, ui); !slices.Equal(got, before) {
		t.Fatalf("an unchanged apply restarted runs: pids %v, were %v", got, before)
	}

	// One run changed: the plan says so, and only it is replaced.
	text = strings.Replace(text, "nav]", "nav, v2]", 1)
	if err := os.WriteFile(sbOf(t).Path(file), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "--json", "apply", "--dry-run", file)
	var plan applyJSON
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || r.code != 0 {
		t.Fatalf("apply --dry-run --json: %v\n%v", err, r)
	}
	if !plan.DryRun || plan.Stack != stackName || len(plan.Runs) != 3 || plan.Runs[1].Name != nav || plan.Runs[1].Action != "replace" || !slices.Equal(plan.Runs[1].Changed, []string{"argv"}) || plan.Runs[0].Action != "unchanged" || plan.Runs[1].Result != "" || plan.Runs[2].Action != "restart" {
		t.Errorf("dry-run plan %+v: want nav to be replaced for its argv, ui (after nav) restarted, driver unchanged", plan)
	}
	if got := pids(t, driver, nav, ui); !slices.Equal(got, before) {
		t.Fatalf("a dry run touched runs: pids %v, were %v", got, before)
	}
	r = runctl(t, "apply", file)
	lines = applied(r)
	// systemd keeps nav as it was made while ui, which starts after it,
	// is loaded: ui is stopped first and started again.
	if r.code != 0 || !strings.HasPrefix(lines[nav], "replaced "+nav+" (changed: argv)") || lines[driver] != "unchanged "+driver || !strings.HasPrefix(lines[ui], "restarted "+ui+" (it starts after "+nav+", which is replaced)") {
		t.Fatalf("apply of a changed run: %v", r)
	}
	after := pids(t, driver, nav, ui)
	if after[0] != before[0] || after[2] == before[2] || after[1] == before[1] {
		t.Fatalf("pids %v, were %v: want driver's the same, nav's and ui's new", after, before)
	}
	cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", after[1])))
	if got := nulSplit(cmdline); !slices.Equal(got, []string{"sh", "-c", "sleep 1000; :", "nav", "v2"}) {
		t.Errorf("nav runs %q", got)
	}

	// A run that fails, and one after it: both reported, exit 1, the
	// others left as they were.
	failing := text + fmt.Sprintf(`  - name: %s
    command: [sh, -c, 'exit 3']
  - name: %s
    command: [sleep, '1000']
    after: [%s]
`, bad, late, bad)
	if err := os.WriteFile(sbOf(t).Path(file), []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "apply", settle, file) // the settle window sees bad end
	lines = applied(r)
	if r.code != 1 || !strings.Contains(lines[bad], "cannot apply "+bad) || !strings.Contains(lines[late], "skipped "+late+": it starts after "+bad+", which failed") || lines[nav] != "unchanged "+nav {
		t.Fatalf("apply with a failing run: %v", r)
	}
	if !strings.Contains(r.stderr, "cannot apply 2 of the runs of stack "+stackName) {
		t.Errorf("no summary of the failures: %v", r)
	}
	if got := pids(t, driver, nav, ui); !slices.Equal(got, after) {
		t.Fatalf("a failing run changed the others: pids %v, were %v", got, after)
	}

	// source: the environment a shell has after sourcing the file (relative
	// to the stack file's folder, as env-file), read at apply.
	script := "/etc/" + ui + ".sh"
	if err := os.WriteFile(sbOf(t).Path(script), []byte("export ROBOT_MODEL='go2 pro'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sbOf(t).Path(script)) })
	if err := os.WriteFile(sbOf(t).Path(file), []byte(strings.Replace(text, "dir: /usr\n", "dir: /usr\n    source: "+script+"\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "apply", file)
	if lines = applied(r); r.code != 0 || !strings.HasPrefix(lines[ui], "replaced "+ui+" (changed: env)") {
		t.Fatalf("apply of source: %v", r)
	}
	after[2] = mainPID(t, ui)
	environ, _ = os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", after[2])))
	if env := nulSplit(environ); !slices.Contains(env, "ROBOT_MODEL=go2 pro") {
		t.Errorf("%s's environment after apply with source: %q", ui, env)
	}
	if r = runctl(t, "apply", file); applied(r)[ui] != "unchanged "+ui {
		t.Errorf("apply of the same source again: %v", r)
	}
	// A source file that is not there: refused, nothing changed.
	if err := os.WriteFile(sbOf(t).Path(file), []byte(strings.Replace(text, "dir: /usr\n", "dir: /usr\n    source: /etc/no-such-setup.sh\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "apply", file)
	if r.code == 0 || !strings.Contains(r.stderr, "no-such-setup.sh") || !strings.Contains(r.stderr, "nothing was changed") || r.stdout != "" {
		t.Fatalf("apply of a missing source: %v", r)
	}

	// ui leaves the file: left alone, unless --prune.
	i := strings.Index(text, "  - name: "+ui)
	if err := os.WriteFile(sbOf(t).Path(file), []byte(text[:i]), 0o644); err != nil {
		t.Fatal(err)
	}
	r = runctl(t, "apply", file)
	if lines = applied(r); r.code != 0 || !strings.HasPrefix(lines[ui], "left "+ui+" alone") || mainPID(t, ui) != after[2] {
		t.Fatalf("apply without ui: %v", r)
	}
	r = runctl(t, "apply", "--prune", file)
	if lines = applied(r); r.code != 0 || !strings.HasPrefix(lines[ui], "stopped and forgot "+ui) || lines[nav] != "unchanged "+nav {
		t.Fatalf("apply --prune without ui: %v", r)
	}
	if r := runctl(t, "status", ui); r.code == 0 {
		t.Errorf("ui is still known after --prune: %v", r)
	}
	if _, err := os.Stat(sbOf(t).Path("/var/lib/runctl/runs/" + ui + ".json")); err == nil {
		t.Errorf("ui's spec is still kept after --prune")
	}
	// bad and late are not the stack's runs any more, but bad's spec is
	// (its start failed after it was kept): pruned too.
	if _, err := os.Stat(sbOf(t).Path("/var/lib/runctl/runs/" + bad + ".json")); err == nil {
		t.Errorf("bad's spec is still kept after --prune")
	}

	// A run of this stack cannot be taken by another stack.
	other := stackFile(t, dir+"-other", fmt.Sprintf("name: o%s\nruns:\n  - name: %s\n    command: [sleep, '1']\n", stackName, driver))
	r = runctl(t, "apply", other)
	if r.code != 1 || !strings.Contains(r.stderr, "run "+driver+" belongs to stack "+stackName) || mainPID(t, driver) != after[0] {
		t.Fatalf("another stack's apply of driver: %v", r)
	}
}

func TestExportApplyRoundTrip(t *testing.T) {
	alone(t)
	n := stackNames(t, 2)
	base, top := n[0], n[1]
	stackName := "s" + base
	script := "sleep 1000; :"
	argv := append([]string{"sh", "-c", script, "argv0"}, hostile...)
	secret := "s3cr3t \"$quoted\" \\ `tick`\nline2 %n ünï\ttab 'sq'"
	if r := runctl(t, append([]string{"run", "-d", "-n", base, "--dir", "/usr/share", "-E", "SECRET=" + secret, "-E", "EMPTY=",
		"-p", "Nice=5", "-p", "DeviceAllow=/dev/null rw", "-p", "DeviceAllow=/dev/zero r", "--stop-signal", "SIGINT",
		"--restart", "on-failure", "--max-restarts", "3", "--within", "20s", "--stop-timeout", "3s", "--"}, argv...)...); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "-n", top, "--after", base, "--enable", "--no-log-limit", "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	keptSpecs := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, name := range n {
			data, err := os.ReadFile(sbOf(t).Path("/var/lib/runctl/runs/" + name + ".json"))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "created")
			delete(m, "stack")
			// A file's properties come by key; the values of one key
			// keep their order.
			if ps, ok := m["properties"].([]any); ok {
				slices.SortStableFunc(ps, func(a, b any) int {
					ka, _, _ := strings.Cut(a.(string), "=")
					kb, _, _ := strings.Cut(b.(string), "=")
					return strings.Compare(ka, kb)
				})
			}
			out[name] = m
		}
		return out
	}
	orig := keptSpecs()
	before := pids(t, base, top)

	r := runctl(t, "export", "--stack", stackName, top, base)
	if r.code != 0 {
		t.Fatal(r)
	}
	exported := r.stdout
	// base comes first: top starts after it.
	if i, j := strings.Index(exported, "name: "+base), strings.Index(exported, "name: "+top); i < 0 || j < i || !strings.HasPrefix(exported, "name: "+stackName+"\n") {
		t.Fatalf("export:\n%s", exported)
	}
	file := stackFile(t, "/var/tmp/"+stackName, exported)

	// The running runs are the file's: recorded in the stack, not touched.
	r = runctl(t, "apply", file)
	lines := applied(r)
	if r.code != 0 || lines[base] != "unchanged "+base+" (now recorded in its stack)" || lines[top] != "unchanged "+top+" (now recorded in its stack)" {
		t.Fatalf("apply of the export: %v\nfile:\n%s", r, exported)
	}
	if got := pids(t, base, top); !slices.Equal(got, before) {
		t.Fatalf("apply of the export restarted runs: pids %v, were %v", got, before)
	}
	r = runctl(t, "apply", file)
	if lines := applied(r); r.code != 0 || lines[base] != "unchanged "+base || lines[top] != "unchanged "+top {
		t.Fatalf("second apply of the export: %v", r)
	}
	if r := runctl(t, "export", "--stack", stackName); r.code != 0 || r.stdout != exported {
		t.Errorf("export of the stack by name:\n%v\nwant\n%s", r, exported)
	}
	// The file on stdin: the same plan.
	cmd := runctlCmd(t, "/", "--json", "apply", "--dry-run", "-")
	cmd.Stdin = strings.NewReader(exported)
	r = finish(t, cmd)
	var plan applyJSON
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil || r.code != 0 || len(plan.Runs) != 2 || plan.Runs[0].Action != "unchanged" || plan.Runs[1].Action != "unchanged" {
		t.Errorf("apply --dry-run - with the export on stdin: %+v\n%v", plan, r)
	}

	// Gone and brought back from the file: the same specs, argv and
	// environment.
	if r := runctl(t, "rm", "--force", top, base); r.code != 0 {
		t.Fatal(r)
	}
	r = runctl(t, "apply", file)
	if lines := applied(r); r.code != 0 || !strings.HasPrefix(lines[base], "started "+base) || !strings.HasPrefix(lines[top], "started "+top) || !strings.Contains(lines[top], ", enabled") {
		t.Fatalf("apply after rm: %v", r)
	}
	if got := keptSpecs(); !jsonEqual(got, orig) {
		t.Errorf("specs brought back by apply differ:\n got %v\nwant %v", got, orig)
	}
	cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", mainPID(t, base))))
	if got := nulSplit(cmdline); !slices.Equal(got, argv) {
		t.Errorf("base runs argv\n%q\nwant\n%q", got, argv)
	}
	environ, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", mainPID(t, base))))
	if env := nulSplit(environ); !slices.Contains(env, "SECRET="+secret) || !slices.Contains(env, "EMPTY=") {
		t.Errorf("base's environment lacks SECRET or EMPTY: %q", env)
	}
	if st := strings.TrimSpace(inside(t, "systemctl", "is-enabled", "runctl-"+top+".service")); st != "enabled" {
		t.Errorf("top is %s, want enabled", st)
	}
	if r := runctl(t, "export", "--stack", stackName); r.code != 0 || r.stdout != exported {
		t.Errorf("export after apply:\n%v\nwant\n%s", r, exported)
	}
	if r := runctl(t, "export", base, top); r.code != 0 || !strings.HasPrefix(r.stdout, "name: "+stackName+"\n") {
		t.Errorf("export of the stack's runs names the file by their stack: %v", r)
	}
	if r := runctl(t, "export", "--stack", "nosuchstack"); r.code != 1 || !strings.Contains(r.stderr, "no run belongs to it") {
		t.Errorf("export of an unknown stack: %v", r)
	}
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// ls, status, restart and stop take a stack's runs with --stack.
func TestStackVerbs(t *testing.T) {
	alone(t)
	n := stackNames(t, 3)
	top, base, other := n[0], n[1], n[2]
	stackName := "s" + top
	file := stackFile(t, "/var/tmp/"+stackName, fmt.Sprintf(`name: %s
runs:
  - name: %s
    command: [sleep, '1000']
    after: [%s]
  - name: %s
    command: [sleep, '1000']
`, stackName, top, base, base))
	if r := runctl(t, "apply", file); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "-n", other, "--", "sleep", "1000"); r.code != 0 {
		t.Fatal(r)
	}
	otherPID := mainPID(t, other)
	want := []string{base, top}
	slices.Sort(want)
	if r := runctl(t, "ls", "-q", "--stack", stackName); r.code != 0 || r.stdout != strings.Join(want, "\n")+"\n" {
		t.Errorf("ls --stack: %v, want %s and %s only", r, base, top)
	}
	if r := runctl(t, "--json", "ls", "--stack", stackName); r.code != 0 || strings.Count(r.stdout, `"stack": "`+stackName+`"`) != 2 {
		t.Errorf("ls --json --stack does not name each run's stack: %v", r)
	}
	if r := runctl(t, "--json", "status", "--stack", stackName); r.code != 0 || !strings.Contains(r.stdout, `"name": "`+top+`"`) || !strings.Contains(r.stdout, `"name": "`+base+`"`) || strings.Contains(r.stdout, `"name": "`+other+`"`) {
		t.Errorf("status --stack: %v", r)
	}
	before := pids(t, base, top)
	r := runctl(t, "restart", "--stack", stackName)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "restarted "+base+" in ") || !strings.Contains(r.stdout, "\nrestarted "+top+" in ") {
		t.Fatalf("restart --stack: %v, want %s first, then %s (after it)", r, base, top)
	}
	if after := pids(t, base, top); after[0] == before[0] || after[1] == before[1] || mainPID(t, other) != otherPID {
		t.Errorf("restart --stack: pids %v, were %v; other's %d, was %d", after, before, mainPID(t, other), otherPID)
	}
	if r := runctl(t, "stop", "--stack", stackName); r.code != 0 || !strings.Contains(r.stdout, "stopped "+top) || !strings.Contains(r.stdout, "stopped "+base) {
		t.Fatalf("stop --stack: %v", r)
	}
	if st := prop(t, "runctl-"+top+".service", "ActiveState"); st != "inactive" {
		t.Errorf("%s is %s after stop --stack", top, st)
	}
	if mainPID(t, other) != otherPID {
		t.Errorf("stop --stack stopped a run outside the stack")
	}
	if r := runctl(t, "ls", "--stack", "nosuchstack"); r.code != 5 || !strings.Contains(r.stderr, "no run belongs to stack nosuchstack") {
		t.Errorf("ls --stack of an unknown stack: %v", r)
	}
	if r := runctl(t, "stop", "--stack", stackName, top); r.code != 2 {
		t.Errorf("stop --stack with a NAME: %v, want a usage error", r)
	}
}

// A run enabled after a replaced one: stopped, its unit file would stay
// loaded (wanted by the boot target and the stack's target), so apply
// unlinks it for one reload, and the replace still goes.
func TestApplyReplacesUnderAnEnabledRun(t *testing.T) {
	alone(t)
	n := stackNames(t, 2)
	base, top := n[0], n[1]
	stackName := "s" + base
	text := `name: %s
runs:
  - name: %s
    command: [sleep, '%s']
  - name: %s
    command: [sleep, '1000']
    after: [%s]
    enable: true
`
	file := stackFile(t, "/var/tmp/"+stackName, fmt.Sprintf(text, stackName, base, "1000", top, base))
	if r := runctl(t, "apply", file); r.code != 0 || !strings.Contains(r.stdout, "started "+top+", pid") || !strings.Contains(r.stdout, ", enabled") {
		t.Fatal(r)
	}
	before := pids(t, base, top)
	// After a reload (or a boot) the boot target, and the stack's target,
	// want top: stopped, it stays loaded, and keeps base as it was made.
	inside(t, "systemctl", "daemon-reload")
	if err := os.WriteFile(sbOf(t).Path(file), []byte(fmt.Sprintf(text, stackName, base, "1001", top, base)), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runctl(t, "apply", file)
	if lines := applied(r); r.code != 0 || !strings.HasPrefix(lines[base], "replaced "+base+" (changed: argv)") || !strings.HasPrefix(lines[top], "restarted "+top) {
		t.Fatalf("apply: %v", r)
	}
	if after := pids(t, base, top); after[0] == before[0] || after[1] == before[1] {
		t.Errorf("pids %v, were %v: want both new", after, before)
	}
	if st := strings.TrimSpace(inside(t, "systemctl", "is-enabled", "runctl-"+top+".service")); st != "enabled" {
		t.Errorf("%s is %s after the apply, want enabled", top, st)
	}
	if r := runctl(t, "apply", file); r.code != 0 || applied(r)[top] != "unchanged "+top || applied(r)[base] != "unchanged "+base {
		t.Errorf("apply again: %v", r)
	}
}
