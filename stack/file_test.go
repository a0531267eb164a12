package stack

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	f, err := Parse([]byte(`
name: robot
runs:
  - name: driver
    command: [/bin/sh, -c, 'exec sleep 100']
    env: {PORT: 5, DEBUG: yes, EMPTY: , FLOAT: 1.50, HEX: 0x10}
    restart: on-failure
    restart-delay: 2s
    max-restarts: 3
    property:
      Nice: 5
      DeviceAllow: [/dev/ttyUSB0 rw, /dev/video0 r]
    stop-signal: SIGINT
    notify: true
    watchdog: 5s
  - name: nav
    command:
      - /bin/sleep
      - "100"
    after: [driver]
    enable: true
    env-file: /etc/robot/nav.env
    max-restarts: none
`))
	if err != nil {
		t.Fatal(err)
	}
	d := Duration(2 * time.Second)
	w := Duration(5 * time.Second)
	want := &File{Name: "robot", Runs: []Run{
		{
			Name: "driver", Command: []string{"/bin/sh", "-c", "exec sleep 100"},
			// Scalars are taken as written, not as YAML's numbers or booleans.
			Env:     map[string]string{"PORT": "5", "DEBUG": "yes", "EMPTY": "", "FLOAT": "1.50", "HEX": "0x10"},
			Restart: "on-failure", RestartDelay: &d, MaxRestarts: "3",
			Property:   Properties{"Nice": {"5"}, "DeviceAllow": {"/dev/ttyUSB0 rw", "/dev/video0 r"}},
			StopSignal: "SIGINT", Notify: true, Watchdog: &w,
		},
		{Name: "nav", Command: []string{"/bin/sleep", "100"}, After: []string{"driver"}, Enable: true, EnvFile: Strings{"/etc/robot/nav.env"}, MaxRestarts: "none"},
	}}
	if !reflect.DeepEqual(f, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", f, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"runs: [{name: a, command: [x]}]", "no name"},
		{"", "it is empty"},
		{"# only a comment\n", "it is empty"},
		{"name: r", "no runs"},
		{"name: 'a b'\nruns: [{name: a, command: [x]}]", "stack name"},
		{"name: r\nruns: [{name: a, command: [x]}, {name: a, command: [y]}]", "run a is listed twice"},
		{"name: r\nruns: [{name: a}]", "run a has no command"},
		{"name: r\nruns: [{name: a, command: x}]", "cannot unmarshal"},
		{"name: r\nruns: [{name: a, command: [x], comand: [y]}]", "field comand not found"},
		{"name: r\nruns: [{name: a, command: [x], restart: sometimes}]", `restart "sometimes"`},
		{"name: r\nruns: [{name: a, command: [x], max-restarts: lots}]", `max-restarts "lots"`},
		{"name: r\nruns: [{name: a, command: [x], watchdog: 5}]", "not a duration"},
		{"name: r\nruns: [{name: a, command: [x], property: {Nice: [1, [2]]}}]", "want a value"},
		{"name: r\nruns: [{name: 'a/b', command: [x]}]", "invalid run name"},
	} {
		_, err := Parse([]byte(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "invalid stack file: ") {
			t.Errorf("Parse(%q) = %v, want an error with %q", tc.file, err, tc.want)
		}
	}
}

// hostile are strings a stack file must carry exactly.
var hostile = []string{
	"", " ", "two words", `"double"`, `'single'`, "$HOME", "${HOME}", "%n", "%%", "a;b", "a\\b",
	"line\nbreak", "trailing\n", "\n", "\n0", "\n\n", "\ttab", "cr\r", "ünïcödé ✓", "😀", "-dash", "# not a comment",
	"key: value", "- item", "[flow]", "{map}", "*alias", "&anchor", "!tag", "|", ">", "yes", "no",
	"true", "null", "~", "0x10", "1e3", "010", ".inf", "  leading", "trailing  ", "\x7f\x01",
	"---", "...", "a\u2028b", "\ufeffbom",
}

func TestMarshalRoundTrip(t *testing.T) {
	d := Duration(1500 * time.Millisecond)
	f := &File{Name: "robot", Runs: []Run{{
		Name: "a", Command: append([]string{"/bin/echo"}, hostile...), Dir: "/tmp/with space",
		Env:         map[string]string{},
		Property:    Properties{"Environment": nil, "DeviceAllow": {"/dev/null rw", "/dev/zero r"}, "Nice": {"5"}},
		StopTimeout: &d, Enable: true, After: []string{"b"},
	}, {Name: "b", Command: []string{"sleep", "1"}}}}
	for i, h := range hostile {
		f.Runs[0].Env["V"+strings.Repeat("X", i)] = h
	}
	f.Runs[0].Property["Environment"] = hostile[1:]
	data, err := Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(Marshal(f)): %v\n%s", err, data)
	}
	if !reflect.DeepEqual(back, f) {
		t.Errorf("round trip changed the file:\n got %#v\nwant %#v\nfile:\n%s", back, f, data)
	}
}

func FuzzMarshalRoundTrip(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !strings.ContainsRune(s, 0) && strings.ToValidUTF8(s, "") == s {
			in := &File{Name: "r", Runs: []Run{{Name: "a", Command: []string{s, s}, Env: map[string]string{"A": s}, Property: Properties{"K": {s}}}}}
			if s == "" {
				in.Runs[0].Command[0] = "x"
			}
			data, err := Marshal(in)
			if err != nil {
				t.Fatal(err)
			}
			back, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(Marshal(%q)): %v\n%s", s, err, data)
			}
			if !reflect.DeepEqual(back, in) {
				t.Fatalf("round trip of %q gave %#v\n%s", s, back, data)
			}
		}
	})
}

// Without a way to read it (nil), source is refused, naming the run.
func TestSourceNeedsAReader(t *testing.T) {
	r := Run{Name: "a", Command: []string{"/bin/sh"}, Source: Strings{"/opt/ros/setup.sh"}}
	if _, err := r.Spec("robot", "/", nil); err == nil || err.Error() != "run a: source is not supported here" {
		t.Errorf("Spec of %+v: %v, want source refused", r, err)
	}
}

// TestEnvFileAndNoLimit: env-file (relative to the stack file's folder)
// gives the run its lines, which env overrides, as runctl run's --env-file
// and -E do; max-restarts none lifts the start limit, and export says so.
func TestEnvFileAndNoLimit(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "robot.env"), []byte("# comment\nROBOT=go2\nMODE=file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := Run{Name: "a", Command: []string{"/bin/sh"}, EnvFile: Strings{"robot.env"}, Env: map[string]string{"MODE": "env"}, Restart: "always", MaxRestarts: "none"}
	s, err := r.Spec("robot", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(s.Env, "ROBOT=go2") || !slices.Contains(s.Env, "MODE=env") || slices.Contains(s.Env, "MODE=file") {
		t.Errorf("env %q: want ROBOT=go2 from the file and MODE=env over it", s.Env)
	}
	if !s.NoRestartLimit {
		t.Errorf("max-restarts none: NoRestartLimit is false")
	}
	if back, _ := FromSpec(s, false); back.MaxRestarts != "none" {
		t.Errorf("export of max-restarts none: %q", back.MaxRestarts)
	}
}
