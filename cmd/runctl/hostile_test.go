package main

// Hostile input and hostile programs: every bad input is refused with one
// clear line that creates nothing, every strange but valid input reaches the
// program byte for byte, and programs that fork, setsid, exit at once or
// crash-loop end the way the README says.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// hostileCase is one line of TestHostileInput. In args, "{name}" is a fresh
// run name and "{sentinel}" the run that every case must leave alone.
type hostileCase struct {
	name string
	args []string // runctl's arguments
	dir  string   // where runctl runs, inside the sandbox (default /)
	env  []string // added to the caller's environment
	prep string   // shell command run inside the sandbox first

	// wantErr: a clear refusal (non-zero exit, one stderr line holding
	// wantErr, nothing created). Empty: a round trip, where the program's
	// argv is what follows "--" in args, byte for byte.
	wantErr string
	// either: a round trip if runctl starts the run, else a clear refusal
	// holding wantErr (for limits the kernel or systemd may impose).
	either bool

	wantEnv map[string]string // round trip: variables the program must see
	noEnv   []string          // round trip: variable names it must not see
	wantCwd string            // round trip: its working directory (default /)
	// keepUnit is a unit (not runctl's) whose state must not change.
	keepUnit string
	// viaFile passes args through a file and bash with an unlimited stack,
	// for argument lists larger than one execve of runctl may carry.
	viaFile bool
}

// hold keeps the program (sh) alive with its argv as given.
func hold(args ...string) []string {
	return append([]string{"--", "sh", "-c", "sleep 1000; :", "hostile"}, args...)
}

// runD is `run -d -n {name}` followed by args.
func runD(args ...string) []string { return append([]string{"run", "-d", "-n", "{name}"}, args...) }

func concat(parts ...[]string) []string { return slices.Concat(parts...) }

// hostileArgv are the argument lists whose round trip TestHostileInput
// checks; TestReloadKeepsArgvExact runs them through daemon-reload too.
var hostileArgv = []struct {
	name string
	argv []string
}{
	{"argv newlines", []string{"a\nb", "\n", "line1\nline2\n", "\r\n"}},
	{"argv tabs", []string{"a\tb", "\t", "\t\t\v\f"}},
	{"argv variables", []string{"$HOME", "${PATH}", "$$", "$(id)", "`id`", "$1", "$"}},
	{"argv specifiers", []string{"%n", "%%", "%i", "%h", "%", "100%", "%{x}"}},
	{"argv quotes", []string{`"`, `'`, `"'"`, `'"'`, `a"b'c`, `""`, `''`}},
	{"argv backslashes", []string{`\`, `\\`, `a\nb`, `trailing\`, `\"`, `\x41`, `\$HOME`}},
	{"argv empty strings", []string{"", "", "x", "", " "}},
	{"argv mixed", hostile},
}

func TestHostileInput(t *testing.T) {
	aloneLong(t)
	k100 := strings.Repeat("x", 100*1024)
	// The largest value one variable can have: the kernel refuses any
	// single argv or environ string of 128 KiB or more (MAX_ARG_STRLEN,
	// NUL included), at runctl's own execve as at the program's. Made of
	// characters the environment file must escape, so its line doubles.
	maxValue := strings.Repeat(`$\"`+"`", (128*1024-1-len("BIG="))/4)
	var many []string
	for i := range 5000 {
		many = append(many, "arg"+strconv.Itoa(i))
	}
	many[17], many[4000] = "", "$HOME %n \\ \n"
	// About 2 MB of environment in 16 values of 125 KiB: runctl's own
	// execve needs a raised stack limit for it (viaFile), the program's
	// does not.
	var twoMB []string
	twoMBEnv := map[string]string{}
	for i := range 16 {
		v := strconv.Itoa(i) + strings.Repeat("e", 128000)
		twoMB = append(twoMB, "-E", fmt.Sprintf("BIG%d=%s", i, v))
		twoMBEnv[fmt.Sprintf("BIG%d", i)] = v
	}

	cases := []hostileCase{
		// Run names.
		{name: "name with slash", args: []string{"run", "-d", "-n", "{name}/x", "--", "true"}, wantErr: "invalid run name"},
		{name: "name ../etc", args: []string{"run", "-d", "-n", "../etc", "--", "true"}, wantErr: "invalid run name"},
		{name: "name ..", args: []string{"run", "-d", "-n", "..", "--", "true"}, wantErr: "invalid run name"},
		{name: "name a..b", args: []string{"run", "-d", "-n", "a..b", "--", "true"}, wantErr: "invalid run name"},
		{name: "name with space", args: []string{"run", "-d", "-n", "a b", "--", "true"}, wantErr: "invalid run name"},
		{name: "name unicode", args: []string{"run", "-d", "-n", "ünïcødé", "--", "true"}, wantErr: "invalid run name"},
		{name: "name invalid UTF-8", args: []string{"run", "-d", "-n", "bad\xffname", "--", "true"}, wantErr: "UTF-8"},
		{name: "name 300 characters", args: []string{"run", "-d", "-n", strings.Repeat("n", 300), "--", "true"}, wantErr: "invalid run name"},
		{name: "name leading dash as next word", args: []string{"run", "-d", "-n", "-lead", "--", "true"}, wantErr: "--name"},
		{name: "name leading dash", args: []string{"run", "-d", "--name=-lead", "--", "true"}, wantErr: "invalid run name"},
		{name: "name empty", args: []string{"run", "-d", "-n", "", "--", "sleep", "7332"}, wantErr: "invalid run name"},
		{name: "name of a system unit", args: []string{"run", "-d", "-n", "dbus", "--", "sh", "-c", "sleep 1000; :", "dbus-alike"}, keepUnit: "dbus.service"},

		// argv, byte for byte.
		{name: "argv 100 KB argument", args: runD(hold("before", k100, "after")...), either: true, wantErr: "argument"},
		{name: "argv 5000 arguments", args: runD(hold(many...)...), either: true, wantErr: "argument"},
		{name: "argv invalid UTF-8", args: runD(hold("ok", "a\xffb")...), wantErr: "UTF-8"},
		{name: "argv invalid UTF-8 only byte", args: runD(hold("\xc3")...), wantErr: "UTF-8"},
		{name: "command empty", args: runD("--", ""), wantErr: "no command given"},

		// -E and the caller's environment.
		{name: "-E name with space", args: runD("-E", "A B=x", "--", "true"), wantErr: "invalid -E"},
		{name: "-E empty name", args: runD("-E", "=x", "--", "true"), wantErr: "invalid -E"},
		{name: "-E name starts with =", args: runD("-E", "==x", "--", "true"), wantErr: "invalid -E"},
		{name: "-E without =", args: runD("-E", "NOVALUE", "--", "true"), wantErr: "invalid -E"},
		{name: "-E name with dash", args: runD("-E", "A-B=x", "--", "true"), wantErr: "invalid -E"},
		{name: "-E value invalid UTF-8", args: runD("-E", "BADVAL=a\xffb", "--", "true"), wantErr: "UTF-8"},
		{name: "-E value with =", args: runD(concat([]string{"-E", "A=B=C", "-E", "EMPTY="}, hold())...), wantEnv: map[string]string{"A": "B=C", "EMPTY": ""}},
		{name: "-E values with commas", args: runD(concat([]string{"-E", "LIST=a,b,c", "-E", "X=1,Y=2"}, hold())...), wantEnv: map[string]string{"LIST": "a,b,c", "X": "1,Y=2"}, noEnv: []string{"Y"}},
		{name: "-E 100 KB value", args: runD(concat([]string{"-E", "BIG=" + k100}, hold())...), either: true, wantErr: "BIG", wantEnv: map[string]string{"BIG": k100}},
		{name: "-E largest value, escaped", args: runD(concat([]string{"-E", "BIG=" + maxValue}, hold())...), either: true, wantErr: "BIG", wantEnv: map[string]string{"BIG": maxValue}},
		{name: "-E 2 MB in all", args: runD(concat(twoMB, hold())...), either: true, wantErr: "environment", wantEnv: twoMBEnv, viaFile: true},
		{
			name:    "caller env invalid names dropped",
			args:    runD(hold()...),
			env:     []string{"BAD-NAME=1", "1BAD=2", "BAD NAME=3", "NOEQUALS", "=lead", "BAD\xffNAME=4", "GOOD_ONE=kept"},
			wantEnv: map[string]string{"GOOD_ONE": "kept", "RUNCTL_TEST_MARK": "1"},
			noEnv:   []string{"BAD-NAME", "1BAD", "BAD NAME", "NOEQUALS", "", "BAD\xffNAME", "BAD\uFFFDNAME"},
		},
		{
			name:    "caller env non-UTF-8 value dropped",
			args:    runD(hold()...),
			env:     []string{"BADVAL=a\xffb", "BADVAL2=\xc3", "GOOD_TWO=ü kept"},
			wantEnv: map[string]string{"GOOD_TWO": "ü kept", "RUNCTL_TEST_MARK": "1"},
			noEnv:   []string{"BADVAL", "BADVAL2"},
		},
		{name: "caller env 100 KB value", args: runD(hold()...), env: []string{"BIGCALLER=" + k100}, wantEnv: map[string]string{"BIGCALLER": k100}},

		// --dir.
		{name: "dir is a file", args: runD("--dir", "/etc/hostname", "--", "true"), wantErr: "not a directory"},
		{name: "dir does not exist", args: runD("--dir", "/no/such/dir", "--", "true"), wantErr: "/no/such/dir"},
		{name: "dir relative", dir: "/usr", args: runD(concat([]string{"--dir", "share"}, hold())...), wantCwd: "/usr/share"},
		{name: "dir relative with ..", dir: "/usr/share", args: runD(concat([]string{"--dir", "../lib"}, hold())...), wantCwd: "/usr/lib"},
		{name: "dir dot", dir: "/usr/share", args: runD(concat([]string{"--dir", "."}, hold())...), wantCwd: "/usr/share"},
		{name: "dir invalid UTF-8", prep: "mkdir -p /tmp/bad\xffdir", args: runD("--dir", "/tmp/bad\xffdir", "--", "true"), wantErr: "UTF-8"},

		// Durations and numbers.
		{name: "stop-timeout -1s", args: runD("--stop-timeout", "-1s", "--", "true"), wantErr: "--stop-timeout"},
		{name: "stop-timeout=-1s", args: runD("--stop-timeout=-1s", "--", "true"), wantErr: "--stop-timeout"},
		{name: "stop-timeout 0", args: runD("--stop-timeout", "0", "--", "true"), wantErr: "--stop-timeout"},
		{name: "stop-timeout nonsense", args: runD("--stop-timeout", "soon", "--", "true"), wantErr: "--stop-timeout"},
		{name: "stop --timeout -1s", args: []string{"stop", "--timeout", "-1s", "{sentinel}"}, wantErr: "--timeout"},
		{name: "stop --timeout=-1s", args: []string{"stop", "--timeout=-1s", "{sentinel}"}, wantErr: "--timeout"},
		{name: "restart --timeout=-1s", args: []string{"restart", "--timeout=-1s", "{sentinel}"}, wantErr: "--timeout"},
		{name: "restart-delay=-5s", args: runD("--restart=always", "--restart-delay=-5s", "--", "true"), wantErr: "--restart-delay"},
		{name: "max-restarts=-1", args: runD("--restart=always", "--max-restarts=-1", "--", "true"), wantErr: "--max-restarts"},
		{name: "within=0", args: runD("--restart=always", "--max-restarts=2", "--within=0s", "--", "true"), wantErr: "--within"},
		{name: "restart=sometimes", args: runD("--restart=sometimes", "--", "true"), wantErr: "--restart"},

		// Unknown flags, empty and unknown names.
		{name: "run unknown flag", args: runD("--bogus", "--", "true"), wantErr: "unknown flag --bogus"},
		{name: "ls unknown flag", args: []string{"ls", "--bogus"}, wantErr: "unknown flag --bogus"},
		{name: "stop unknown flag", args: []string{"stop", "--bogus", "{sentinel}"}, wantErr: "unknown flag --bogus"},
		{name: "stop empty name", args: []string{"stop", ""}, wantErr: "invalid run name"},
		{name: "restart empty name", args: []string{"restart", ""}, wantErr: "invalid run name"},
		{name: "start empty name", args: []string{"start", ""}, wantErr: "invalid run name"},
		{name: "stop ../etc", args: []string{"stop", "../etc"}, wantErr: "invalid run name"},
		{name: "restart unknown", args: []string{"restart", "no-such-run-h1"}, wantErr: "no-such-run-h1"},
		{name: "start unknown", args: []string{"start", "no-such-run-h2"}, wantErr: "no-such-run-h2"},
		{name: "logs -I nonsense", args: []string{"logs", "-I", "nonsense", "{sentinel}"}, wantErr: "--invocation"},
		{name: "logs -n -1", args: []string{"logs", "-n=-1", "{sentinel}"}, wantErr: "--lines"},
	}

	for _, g := range hostileArgv {
		cases = append(cases, hostileCase{name: g.name, args: runD(hold(g.argv...)...)})
	}

	sentinel := runName(t)
	startSentinel := func() int {
		t.Helper()
		if r := runctl(t, "run", "-d", "--replace", "-n", sentinel, "--", "sleep", "7331"); r.code != 0 {
			t.Fatalf("cannot start the sentinel run: %v", r)
		}
		return mainPID(t, sentinel)
	}
	sentinelPID := startSentinel()

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.prep != "" {
				inside(t, "sh", "-c", tc.prep)
			}
			name := runName(t)
			args := make([]string, len(tc.args))
			for i, a := range tc.args {
				a = strings.ReplaceAll(a, "{name}", name)
				args[i] = strings.ReplaceAll(a, "{sentinel}", sentinel)
			}
			dir := tc.dir
			if dir == "" {
				dir = "/"
			}
			unitsBefore, filesBefore := runctlUnitSet(t), runFiles(t)
			keepBefore := ""
			if tc.keepUnit != "" {
				keepBefore = unitState(t, tc.keepUnit)
			}

			r := runHostile(t, dir, tc, args, name)

			if pid := mainPIDOrZero(t, sentinel); pid != sentinelPID {
				t.Errorf("%q touched the sentinel run %s: main pid %d before, %d after", args, sentinel, sentinelPID, pid)
				sentinelPID = startSentinel()
			}
			if tc.keepUnit != "" {
				if after := unitState(t, tc.keepUnit); after != keepBefore {
					t.Errorf("%s changed: %s before, %s after", tc.keepUnit, keepBefore, after)
				}
			}
			unitsAfter, filesAfter := runctlUnitSet(t), runFiles(t)
			newUnits, newFiles := added(unitsBefore, unitsAfter), added(filesBefore, filesAfter)

			if tc.wantErr != "" && !(tc.either && r.code == 0) {
				checkClearError(t, r, tc.wantErr)
				if r.code == 0 {
					if i := slices.Index(args, "-n"); i >= 0 && slices.Contains(args, "--") {
						if pid := mainPIDOrZero(t, args[i+1]); pid != 0 {
							b, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
							t.Logf("the program was started with argv %q", nulSplit(b))
						}
					}
				}
				if len(newUnits) > 0 || len(newFiles) > 0 {
					t.Errorf("refused input left units %q and files %q in /var/lib/runctl/runs", newUnits, newFiles)
				}
				// Whatever it made must not outlive the case.
				for _, u := range newUnits {
					forget(t, strings.TrimSuffix(strings.TrimPrefix(u, "runctl-"), ".service"))
				}
				for _, f := range newFiles {
					forget(t, strings.TrimSuffix(f, filepath.Ext(f)))
				}
				if tc.either {
					t.Logf("outcome: refused: %s", strings.TrimSpace(r.stderr))
				}
				return
			}
			if tc.either {
				t.Logf("outcome: round trip")
			}
			if r.code != 0 || !strings.Contains(r.stdout, "started ") {
				t.Fatalf("want the run started; got %v", abbrev(r))
			}
			made := name
			if i := slices.Index(args, "-n"); i >= 0 {
				made = args[i+1]
			}
			if slices.ContainsFunc(newUnits, func(u string) bool { return u != "runctl-"+made+".service" }) {
				t.Errorf("units created besides runctl-%s.service: %q", made, newUnits)
			}
			// rm leaves nothing of the run, not even a record its
			// recorder writes late, so the next case finds no file of
			// this one's.
			t.Cleanup(func() { runctl(t, "rm", "--force", made) })
			for _, f := range newFiles {
				if ext := filepath.Ext(f); runOfFile(f) != made || !slices.Contains([]string{".json", ".env", ".lock", ".start"}, ext) {
					t.Errorf("file %s created in /var/lib/runctl/runs besides %s's", f, made)
				}
			}
			checkRoundTrip(t, made, args[slices.Index(args, "--")+1:], tc)
		})
	}
}

// runHostile runs one case's runctl command.
func runHostile(t *testing.T, dir string, tc hostileCase, args []string, name string) result {
	t.Helper()
	cmd := runctlCmd(t, dir, args...)
	if tc.viaFile {
		// The same command, but bash reads runctl's arguments from a file
		// and execs it with an unlimited stack, so the kernel lets 6 MB of
		// arguments through instead of 2 MB.
		file := "/tmp/" + name + ".args"
		n := slices.Index(cmd.Args, binDir+"/runctl") // its arguments follow, as the harness gave them
		if err := os.WriteFile(sbOf(t).Path(file), []byte(strings.Join(cmd.Args[n+1:], "\x00")+"\x00"), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd.Args = append(cmd.Args[:n:n], "bash", "-c", `ulimit -s unlimited && mapfile -d "" -t a < "$0" && exec "$1" "${a[@]}"`, file, binDir+"/runctl")
	}
	cmd.Env = append(cmd.Env, tc.env...)
	begin := time.Now()
	r := finish(t, cmd)
	took := time.Since(begin)
	if tc.either || took > time.Second {
		t.Logf("runctl took %v", took.Round(time.Millisecond))
	}
	// A hang, not a timing goal (make bench has those): 2 s here when idle.
	if size := len(strings.Join(args, " ")); took > 30*time.Second {
		t.Errorf("runctl took %v for %d bytes of arguments", took.Round(time.Millisecond), size)
	}
	return r
}

// goish matches what a user should never read: panics, Go's and D-Bus's
// internals, and syscall names leaked from *os.PathError.
var goish = regexp.MustCompile(`panic|goroutine |%!|<nil>|org\.freedesktop\.|(^|[ :(])(stat|lstat|open|openat|chdir|mkdir|readlink|flock) /`)

// checkClearError: a non-zero exit (1 failure or 2 usage) and exactly one
// line on stderr that says what is wrong, nothing on stdout.
func checkClearError(t *testing.T, r result, want string) {
	t.Helper()
	line := strings.TrimSuffix(r.stderr, "\n")
	switch {
	case r.code != 1 && r.code != 2 && r.code != 5: // 5: an unknown name, as systemctl's
		t.Errorf("want exit 1, 2 or 5 and one line holding %q; got %v", want, abbrev(r))
	case line == "" || strings.Contains(line, "\n") || !strings.HasSuffix(r.stderr, "\n"):
		t.Errorf("want exactly one line on stderr holding %q; got %v", want, abbrev(r))
	case !strings.HasPrefix(line, "runctl: ") || !strings.Contains(line, want):
		t.Errorf("want one line \"runctl: ...%s...\"; got %v", want, abbrev(r))
	case goish.MatchString(line):
		t.Errorf("the error leaks Go or D-Bus internals (%q); got %v", goish.FindString(line), abbrev(r))
	case r.stdout != "":
		t.Errorf("a refused command printed on stdout; got %v", abbrev(r))
	}
}

// checkRoundTrip compares what the program sees with what it was given.
func checkRoundTrip(t *testing.T, name string, argv []string, tc hostileCase) {
	t.Helper()
	pid := mainPID(t, name)
	cmdline, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", pid)))
	if err != nil {
		t.Fatal(err)
	}
	if got := nulSplit(cmdline); !equal(got, argv) {
		t.Errorf("the program sees argv %s\nwant %s", abbrevQ(got), abbrevQ(argv))
	}
	wantCwd := tc.wantCwd
	if wantCwd == "" {
		wantCwd = "/"
	}
	if cwd, err := os.Readlink(sbOf(t).Path(fmt.Sprintf("/proc/%d/cwd", pid))); err != nil || cwd != wantCwd {
		t.Errorf("the program's cwd is %q (%v), want %q", cwd, err, wantCwd)
	}
	environ, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", pid)))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	var raw []string
	for _, kv := range nulSplit(environ) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			raw = append(raw, kv)
		}
		env[k] = v
	}
	for k, want := range tc.wantEnv {
		if got, ok := env[k]; !ok || got != want {
			t.Errorf("the program's %s = %s (set: %v), want %s", k, abbrevQ([]string{got}), ok, abbrevQ([]string{want}))
		}
	}
	for _, k := range tc.noEnv {
		if _, ok := env[k]; ok || slices.Contains(raw, k) {
			t.Errorf("the program sees %q, which should have been dropped", k)
		}
	}
	if env["PWD"] != wantCwd {
		t.Errorf("the program's PWD = %q, want %q", env["PWD"], wantCwd)
	}
	// runctl keeps argv and directory as given.
	found := false
	for _, r := range lsRuns(t) {
		if r.Name == name {
			found = true
			if !equal(r.Command, argv) || r.Dir != wantCwd || r.State != "active" {
				t.Errorf("ls --json: state %s, dir %q, command %s; want active, %q, %s", r.State, r.Dir, abbrevQ(r.Command), wantCwd, abbrevQ(argv))
			}
		}
	}
	if !found {
		t.Errorf("ls --json does not list %s", name)
	}
}

// lsRun is one `ls --json` entry.
type lsRun struct {
	Name     string   `json:"name"`
	State    string   `json:"state"`
	SubState string   `json:"sub_state"`
	PID      int      `json:"pid"`
	Command  []string `json:"command"`
	Dir      string   `json:"dir"`
	Restarts int      `json:"restarts"`
	LastExit string   `json:"last_exit"`
	Known    bool     `json:"known"`
	LimitHit bool     `json:"restart_limit_hit"`
}

func lsRuns(t *testing.T) []lsRun {
	t.Helper()
	r := runctl(t, "ls", "--json")
	var runs []lsRun
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil || r.code != 0 {
		t.Fatalf("ls --json: %v\n%v", err, abbrev(r))
	}
	return runs
}

func lsRunNamed(t *testing.T, name string) (lsRun, bool) {
	t.Helper()
	for _, r := range lsRuns(t) {
		if r.Name == name {
			return r, true
		}
	}
	return lsRun{}, false
}

// runctlUnitSet lists the runctl units systemd has loaded.
func runctlUnitSet(t *testing.T) []string {
	t.Helper()
	var units []string
	for _, f := range strings.Fields(listUnits(t, "runctl-*")) {
		if strings.HasPrefix(f, "runctl-") && strings.HasSuffix(f, ".service") {
			units = append(units, f)
		}
	}
	return units
}

// runFiles lists /var/lib/runctl/runs inside the sandbox.
func runFiles(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(sbOf(t).Path("/var/lib/runctl/runs"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func added(before, after []string) []string {
	var out []string
	for _, a := range after {
		if !slices.Contains(before, a) {
			out = append(out, a)
		}
	}
	return out
}

func unitState(t *testing.T, unit string) string {
	t.Helper()
	var f []string
	for _, p := range []string{"LoadState", "ActiveState", "SubState", "MainPID", "InvocationID"} {
		f = append(f, p+"="+prop(t, unit, p))
	}
	return strings.Join(f, " ")
}

// mainPIDOrZero is the run's main pid, 0 if none.
func mainPIDOrZero(t *testing.T, name string) int {
	t.Helper()
	pid, _ := strconv.Atoi(prop(t, "runctl-"+name+".service", "MainPID"))
	return pid
}

// forget ends a run whose name runName did not make, when the test ends.
func forget(t *testing.T, name string) {
	t.Cleanup(func() {
		endUnits(t, []string{"runctl-" + name + ".service"})
		os.Remove(sbOf(t).Path("/var/lib/runctl/runs/" + name + ".json"))
		for _, f := range envFiles(t, name) {
			os.Remove(sbOf(t).Path(f))
		}
	})
}

// runOfFile is the run a file in the store belongs to: NAME.json,
// NAME.lock, NAME.<16 hex digits>.env.
func runOfFile(f string) string {
	base := strings.TrimSuffix(f, filepath.Ext(f))
	if strings.HasSuffix(f, ".env") && len(base) > 17 && base[len(base)-17] == '.' {
		return base[:len(base)-17]
	}
	return base
}

// envFiles lists a run's environment files (paths inside the sandbox).
func envFiles(t *testing.T, name string) []string {
	var out []string
	for _, f := range runFiles(t) {
		if strings.HasSuffix(f, ".env") && runOfFile(f) == name {
			out = append(out, "/var/lib/runctl/runs/"+f)
		}
	}
	return out
}

// abbrev shortens huge outputs for failure messages.
func abbrev(r result) result {
	cut := func(s string) string {
		if len(s) > 2000 {
			return s[:1000] + fmt.Sprintf("…[%d bytes]…", len(s)-2000) + s[len(s)-1000:]
		}
		return s
	}
	return result{cut(r.stdout), cut(r.stderr), r.code}
}

func abbrevQ(a []string) string {
	q := fmt.Sprintf("%q", a)
	if len(q) > 600 {
		return fmt.Sprintf("%s…[%d arguments, %d bytes]…%s", q[:300], len(a), len(q), q[len(q)-300:])
	}
	return q
}

// procsWithArgv lists the sandbox's processes whose argv is exactly argv.
func procsWithArgv(t *testing.T, argv ...string) []int {
	t.Helper()
	var pids []int
	ents, err := os.ReadDir(sbOf(t).Path("/proc"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(sbOf(t).Path("/proc/" + e.Name() + "/cmdline"))
		if err == nil && len(b) > 0 && equal(nulSplit(b), argv) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// A `--daemon` style launcher: it double-forks a daemon into its own
// session, waits for its pid file and exits 0. With Type=exec the unit ends
// with its main process and KillMode=control-group takes the daemon with it.
func TestProgramDoubleForkDaemon(t *testing.T) {
	shared(t)
	name := runName(t)
	arg := "5550" + strconv.Itoa(100+int(seq.Add(1)))
	pidFile := "/run/" + name + ".pid"
	script := fmt.Sprintf(`(setsid sh -c 'echo $$ > %s; exec sleep %s' &); while [ ! -s %s ]; do :; done; echo launched; exit 0`, pidFile, arg, pidFile)
	r := runctl(t, "run", "-d", settle, "-n", name, "--", "sh", "-c", script)
	t.Logf("run -d of a double-forking launcher: %v", r)
	// The launcher ends within the settle window: runctl says so, with
	// advice to run the program in the foreground.
	if r.code != 1 || !strings.Contains(r.stderr, "(exit status 0)") || !strings.Contains(r.stderr, "foreground") {
		t.Fatalf("run -d: %v", r)
	}
	// The launcher ends once the daemon wrote its pid file, and the unit
	// with it.
	waitFor(t, func() bool { return !slices.Contains(runctlUnitSet(t), "runctl-"+name+".service") }, "the unit to end with its launcher")
	b, err := os.ReadFile(sbOf(t).Path(pidFile))
	if err != nil {
		t.Fatalf("the daemon wrote no pid file: %v", err)
	}
	daemon := strings.TrimSpace(string(b))
	if n := procsWithArgv(t, "sleep", arg); len(n) != 0 {
		t.Errorf("the daemon (pid %s) survived its launcher's unit: %v", daemon, n)
	}
	got, ok := lsRunNamed(t, name)
	t.Logf("ls --json: %+v", got)
	if !ok || got.State != "stopped" || got.PID != 0 || !got.Known {
		t.Errorf("ls --json: %+v (listed %v), want the run stopped and known", got, ok)
	}
	st := runctl(t, "status", name)
	t.Logf("status: %v", st)
	if st.code != 3 || !strings.Contains(st.stdout, "stopped") {
		t.Errorf("status of the ended run: %v, want exit 3 and stopped", st)
	}
	if f := failedRunctlUnits(t, name); f != "" {
		t.Errorf("failed units left: %s", f)
	}
	logs := inside(t, "journalctl", "--no-pager", "-o", "cat", "-u", "runctl-"+name+".service")
	if !strings.Contains(logs, "launched") || !strings.Contains(logs, "Deactivated successfully") {
		t.Errorf("the journal does not show the launcher's end:\n%s", logs)
	}
}

// Children in their own sessions, one ignoring SIGTERM, are still in the
// run's cgroup: a stop ends all of them, escalating to SIGKILL, and returns
// only when none is left.
func TestProgramSetsidChildrenStopped(t *testing.T) {
	shared(t)
	name := runName(t)
	base := 5560000 + 10*int(seq.Add(1))
	args := []string{strconv.Itoa(base + 1), strconv.Itoa(base + 2), strconv.Itoa(base + 3)}
	script := fmt.Sprintf(`setsid sh -c 'trap "" TERM; exec sleep %s' & (setsid sleep %s &); exec sleep %s`, args[0], args[1], args[2])
	if r := runctl(t, "run", "-d", "-n", name, "--stop-timeout", "1s", "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	alive := func() int {
		n := 0
		for _, a := range args {
			n += len(procsWithArgv(t, "sleep", a))
		}
		return n
	}
	waitFor(t, func() bool { return alive() == 3 }, "the three processes to start")
	begin := time.Now()
	r := runctl(t, "stop", name)
	took := time.Since(begin)
	t.Logf("stop: %v(took %v)", r, took.Round(time.Millisecond))
	if r.code != 0 || !strings.Contains(r.stdout, "stopped "+name) || !strings.Contains(r.stdout, "escalated") {
		t.Errorf("stop: %v, want stopped with escalation to SIGKILL (one child ignores SIGTERM)", r)
	}
	if n := alive(); n != 0 {
		t.Errorf("%d processes survived the stop", n)
	}
	if took < time.Second || took > 30*time.Second { // well short of the default 90 s
		t.Errorf("stop took %v, want about the 1s stop timeout", took)
	}
	if slices.Contains(runctlUnitSet(t), "runctl-"+name+".service") {
		t.Errorf("the unit is left after the stop")
	}
}

// A program that exits at once under run -d. Whether its exit beats the
// start job is a race inside systemd (Type=exec's job is done once exec
// succeeded); the settle window catches it either way: exit 1, one line
// that it exited (exit 0, which left nothing behind: finished, exit 0);
// ls ends up with the same, right state.
func TestProgramExitsAtOnce(t *testing.T) {
	shared(t)
	for _, tc := range []struct {
		code     string
		state    string
		lastExit string
	}{{"0", "stopped", "exit status 0"}, {"3", "failed", "exit status 3"}} {
		t.Run("exit "+tc.code, func(t *testing.T) {
			outcomes := map[string]int{}
			for i := range 10 {
				name := runName(t)
				r := runctl(t, "run", "-d", settle, "-n", name, "--", "sh", "-c", "exit "+tc.code)
				said := strings.ReplaceAll(strings.TrimSpace(r.stdout+r.stderr), name, "NAME")
				outcomes[fmt.Sprintf("exit %d: %s", r.code, anyPID.ReplaceAllString(said, "pid N"))]++
				exited := r.code == 1 && strings.Count(r.stderr, "\n") == 1 && strings.Contains(r.stderr, name+" exited ") && strings.Contains(r.stderr, "(exit status "+tc.code+")") && r.stdout == ""
				if tc.code == "0" {
					// Exit 0 and nothing left behind: a job that finished.
					exited = r.code == 0 && strings.HasPrefix(r.stdout, name+" finished (exit 0)") && r.stderr == ""
				}
				if !exited {
					t.Errorf("attempt %d: %v, want one line that it exited (exit 0: finished)", i, r)
				}
				// The recorder writes how it ended as the unit goes: ls may
				// say stopped a moment before it says how.
				waitFor(t, func() bool {
					got, _ := lsRunNamed(t, name)
					return got.State == tc.state && got.LastExit != ""
				}, "the run to end "+tc.state+", recorded")
				if got, _ := lsRunNamed(t, name); got.LastExit != tc.lastExit || !equal(got.Command, []string{"sh", "-c", "exit " + tc.code}) {
					t.Errorf("attempt %d: ls --json %+v, want %s, %q, with its command", i, got, tc.state, tc.lastExit)
				}
			}
			for o, n := range outcomes {
				t.Logf("%d×  %s", n, o)
			}
		})
	}
}

var anyPID = regexp.MustCompile(`pid [1-9][0-9]*`)

// A crash loop under --restart=always gives up after --max-restarts.
func TestProgramCrashLoop(t *testing.T) {
	shared(t)
	name := runName(t)
	r := runctl(t, "run", "-d", settle, "-n", name, "--restart=always", "--max-restarts", "2", "--within", "10s", "--", "sh", "-c", "echo crash-"+name+"; exit 1")
	t.Logf("run -d of a crash loop: %v", r)
	if r.code != 1 || !strings.Contains(r.stderr, "systemd restarts it") {
		t.Fatalf("run -d: %v, want exit 1: it died in the settle window and systemd restarts it", r)
	}
	var got lsRun
	waitFor(t, func() bool { got, _ = lsRunNamed(t, name); return got.State == "failed" }, "the crash loop to give up")
	t.Logf("ls --json: %+v", got)
	if !got.LimitHit || got.LastExit != "exit status 1" {
		t.Errorf("ls --json %+v, want restart_limit_hit and exit status 1", got)
	}
	ran := 0
	waitFor(t, func() bool {
		ran = strings.Count(inside(t, "journalctl", "--no-pager", "-o", "cat", "-t", name), "crash-"+name+"\n")
		return ran >= 3
	}, "journald to hold the three runs' lines")
	if ran != 3 {
		t.Errorf("the program ran %d times, want 3 (the start and 2 restarts)", ran)
	}
	if got.Restarts != ran-1 {
		t.Errorf("ls --json says %d restarts; the program ran %d times, so it was restarted %d times", got.Restarts, ran, ran-1)
	}
	if l := lsLine(t, name); !strings.Contains(l, "gave up restarting") {
		t.Errorf("ls does not say it gave up: %q", l)
	}
	if st := runctl(t, "status", name); st.code != 3 || !strings.Contains(st.stdout, "gave up restarting") {
		t.Errorf("status: %v, want exit 3 and gave up restarting", st)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Errorf("stop of the given-up run: %v", r)
	}
	if f := failedRunctlUnits(t, name); f != "" {
		t.Errorf("the failed unit is left after stop: %s", f)
	}
}

// `systemctl daemon-reload` (every package upgrade runs one) must not lose
// track of runs: systemd rewrites each transient unit from its file.
func TestHostileDaemonReload(t *testing.T) {
	alone(t)
	name := runName(t)
	arg := strconv.Itoa(5570000 + int(seq.Add(1)))
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", arg); r.code != 0 {
		t.Fatal(r)
	}
	pid := mainPID(t, name)
	t.Cleanup(func() { sbOf(t).Command(t.Context(), "kill", "-KILL", strconv.Itoa(pid)).Run() })
	inside(t, "systemctl", "daemon-reload")
	if got, _ := lsRunNamed(t, name); got.State != "active" || got.PID != pid {
		t.Errorf("after daemon-reload ls --json says %+v; the program still runs as pid %d\n%s", got, pid,
			inside(t, "systemctl", "list-units", "--all", "--plain", "--no-legend", "runctl-"+name+".service"))
	}
	r := runctl(t, "stop", name)
	if r.code != 0 || len(procsWithArgv(t, "sleep", arg)) != 0 {
		t.Errorf("stop after daemon-reload: %v; processes left: %v", r, procsWithArgv(t, "sleep", arg))
	}
}

// failedRunctlUnits lists the named runs' units (all runs' without names)
// that are failed, a line each as runctlUnits prints them.
func failedRunctlUnits(t *testing.T, names ...string) string {
	t.Helper()
	var failed []string
	for _, l := range strings.Split(runctlUnits(t, names...), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[2] == "failed" {
			failed = append(failed, l)
		}
	}
	return strings.Join(failed, "\n")
}
