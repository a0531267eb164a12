package stack

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/units"
)

func TestSpec(t *testing.T) {
	dir := t.TempDir()
	d, w := Duration(2*time.Second), Duration(3*time.Second)
	r := Run{
		Name: "nav", Command: []string{"sh", "-c", "exec sleep 100"}, Dir: ".",
		Env:     map[string]string{"B": "2", "A": "1"},
		Restart: "always", MaxRestarts: "3", Within: &w, StopTimeout: &d,
		Property:   Properties{"Nice": {"5"}, "DeviceAllow": {"/dev/null rw", "/dev/zero r"}},
		StopSignal: "SIGINT", UID: "root", After: []string{"driver"},
	}
	got, err := r.Spec("robot", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := &units.Spec{
		Version: units.SpecVersion, Name: "nav", Argv: []string{"sh", "-c", "exec sleep 100"},
		Path: got.Path, Dir: dir, Env: []string{"A=1", "B=2", "PWD=" + dir}, User: "root",
		StopTimeout: units.Duration(2 * time.Second), Restart: "always",
		RestartDelay: units.Duration(defaultRestartDelay), MaxRestarts: 3, Within: units.Duration(3 * time.Second),
		After: []string{"driver"}, Stack: "robot",
		Properties: []string{"DeviceAllow=/dev/null rw", "DeviceAllow=/dev/zero r", "KillSignal=SIGINT", "Nice=5"},
	}
	if !strings.HasSuffix(got.Path, "/sh") {
		t.Errorf("Path = %q, want sh found in the manager's PATH", got.Path)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Spec:\n got %+v\nwant %+v", got, want)
	}
	// Back to the file and again: the same spec.
	back, lossy := FromSpec(got, false)
	again, err := back.Spec("robot", "/", nil)
	if err != nil || lossy != "" {
		t.Fatal(err, lossy)
	}
	if c := Changed(got, again); c != nil {
		t.Errorf("FromSpec then Spec changed %v", c)
	}
	if _, err := (&Run{Name: "a", Command: []string{"/bin/sh"}, Dir: "missing"}).Spec("r", dir, nil); err == nil || !strings.Contains(err.Error(), "run a: dir "+dir+"/missing is not a folder") {
		t.Errorf("Spec with a missing dir: %v", err)
	}
	if _, err := (&Run{Name: "a", Command: []string{"/bin/sh"}, Property: Properties{"Bogus": {"1"}}}).Spec("r", "/", nil); err == nil || !strings.Contains(err.Error(), "run a: ") {
		t.Errorf("Spec with a bad property: %v", err)
	}
}

func spec(name string, after ...string) *units.Spec {
	return &units.Spec{Version: 1, Name: name, Argv: []string{"/bin/sleep", "1"}, Path: "/bin/sleep", Dir: "/", Restart: "no",
		StopTimeout: units.Duration(units.DefaultStopTimeout), After: after, Stack: "robot"}
}

func with(s *units.Spec, f func(*units.Spec)) *units.Spec {
	c := *s
	f(&c)
	return &c
}

func member(stack string) func(*units.Spec) { return func(s *units.Spec) { s.Stack = stack } }

func TestPlan(t *testing.T) {
	old := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	type step struct{ name, action string }
	for _, tc := range []struct {
		name    string
		file    []*units.Spec
		enable  map[string]bool
		current map[string]Current
		prune   bool
		want    []step
		changed []string // of the step that replaces, if any
		err     string   // of the step refused, or of the plan
		// stopFirst are the runs stopped before the replaces.
		stopFirst []string
	}{
		{name: "new", file: []*units.Spec{spec("a")}, want: []step{{"a", Start}}},
		{name: "unchanged running",
			file:    []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: with(spec("a"), func(s *units.Spec) { s.Created = old }), Running: true}},
			want:    []step{{"a", Unchanged}}},
		{name: "unchanged but -p order and empty restart",
			file: []*units.Spec{with(spec("a"), func(s *units.Spec) { s.Properties = []string{"MemoryMax=1G", "Nice=5"} })},
			current: map[string]Current{"a": {Spec: with(spec("a"), func(s *units.Spec) {
				s.Properties, s.Restart = []string{"Nice=5", "MemoryMax=1G"}, ""
			}), Running: true}},
			want: []step{{"a", Unchanged}}},
		{name: "unchanged but stopped", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: spec("a")}},
			want:    []step{{"a", Start}}},
		{name: "not yet a member", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: with(spec("a"), member("")), Running: true}},
			want:    []step{{"a", Adopt}}},
		{name: "changed command and env", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: with(spec("a"), func(s *units.Spec) { s.Argv, s.Env = []string{"/bin/sleep", "2"}, []string{"X=1"} }), Running: true}},
			want:    []step{{"a", Replace}}, changed: []string{"argv", "env"}},
		{name: "to be enabled", file: []*units.Spec{spec("a")}, enable: map[string]bool{"a": true},
			current: map[string]Current{"a": {Spec: spec("a"), Running: true}},
			want:    []step{{"a", Enable}}},
		{name: "to be disabled", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: spec("a"), Running: true, Enabled: true}},
			want:    []step{{"a", Disable}}},
		{name: "after orders the file", file: []*units.Spec{spec("nav", "driver"), spec("driver"), spec("ui", "nav")},
			want: []step{{"driver", Start}, {"nav", Start}, {"ui", Start}}},
		{name: "left the file, no prune", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: spec("a"), Running: true}, "gone": {Spec: spec("gone"), Running: true}, "other": {Spec: with(spec("other"), member("lab"))}, "loose": {Spec: with(spec("loose"), member(""))}},
			want:    []step{{"gone", Leave}, {"a", Unchanged}}},
		{name: "left the file, prune", file: []*units.Spec{spec("a")}, prune: true,
			current: map[string]Current{"a": {Spec: spec("a"), Running: true}, "gone": {Spec: spec("gone"), Running: true}, "other": {Spec: with(spec("other"), member("lab"))}},
			want:    []step{{"gone", Prune}, {"a", Unchanged}}},
		{name: "after a pruned run", file: []*units.Spec{spec("a", "gone")}, prune: true,
			current: map[string]Current{"gone": {Spec: spec("gone")}},
			want:    []step{{"gone", Prune}, {"a", Refuse}}, err: "which --prune removes"},
		{name: "after an unknown run", file: []*units.Spec{spec("a", "nobody")},
			want: []step{{"a", Refuse}}, err: "neither in the file nor a run runctl keeps"},
		{name: "after a kept run outside the file", file: []*units.Spec{spec("a", "db")},
			current: map[string]Current{"db": {Spec: with(spec("db"), member(""))}},
			want:    []step{{"a", Start}}},
		{name: "another stack's run", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Spec: with(spec("a"), member("lab")), Running: true}},
			want:    []step{{"a", Refuse}}, err: "belongs to stack lab"},
		{name: "damaged", file: []*units.Spec{spec("a")},
			current: map[string]Current{"a": {Damaged: errors.New("the spec of run \"a\" is damaged")}},
			want:    []step{{"a", Refuse}}, err: "damaged"},
		{name: "replaced with a loaded run after it", file: []*units.Spec{spec("driver"), spec("nav", "driver"), spec("ui", "nav")},
			current: map[string]Current{
				"driver": {Spec: with(spec("driver"), func(s *units.Spec) { s.Argv = []string{"/bin/sleep", "2"} }), Running: true, Loaded: true},
				"nav":    {Spec: spec("nav", "driver"), Running: true, Loaded: true},
				"ui":     {Spec: spec("ui", "nav"), Loaded: true}, // failed: loaded, not running
				"logger": {Spec: with(spec("logger", "ui"), member("")), Running: true, Loaded: true},
				"gone":   {Spec: spec("gone", "driver"), Running: true, Loaded: true},
				"free":   {Spec: with(spec("free"), member("")), Running: true, Loaded: true},
			},
			want:    []step{{"driver", Replace}, {"nav", Restart}, {"ui", Start}, {"gone", Restart}, {"logger", Restart}},
			changed: []string{"argv"}, stopFirst: []string{"gone", "logger", "nav", "ui"}},
		{name: "replaced, not loaded", file: []*units.Spec{spec("driver"), spec("nav", "driver")},
			current: map[string]Current{
				"driver": {Spec: with(spec("driver"), func(s *units.Spec) { s.Argv = []string{"/bin/sleep", "2"} })},
				"nav":    {Spec: spec("nav", "driver"), Running: true, Loaded: true},
			},
			want: []step{{"driver", Replace}, {"nav", Unchanged}}, changed: []string{"argv"}},
		{name: "cycle in the file", file: []*units.Spec{spec("a", "b"), spec("b", "a")}, err: "--after would make a cycle: a after b after a"},
		{name: "cycle through a kept run", file: []*units.Spec{spec("a", "x")},
			current: map[string]Current{"x": {Spec: with(spec("x", "a"), member(""))}}, err: "cycle"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Plan("robot", tc.file, tc.enable, tc.current, tc.prune)
			if tc.want == nil {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Plan: %v, want an error with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []step
			var stopFirst []string
			for _, s := range steps {
				got = append(got, step{s.Name, s.Action})
				if s.StopFirst {
					stopFirst = append(stopFirst, s.Name)
				}
				if s.Action == Restart && (s.Spec == nil || s.Why == "" || s.Spec.Stack != tc.current[s.Name].Spec.Stack) {
					t.Errorf("%s restarted from %+v (why %q): want its kept spec, as kept", s.Name, s.Spec, s.Why)
				}
				if s.Action == Replace && !reflect.DeepEqual(s.Changed, tc.changed) {
					t.Errorf("%s changed %v, want %v", s.Name, s.Changed, tc.changed)
				}
				if s.Action == Refuse && !strings.Contains(s.Error, tc.err) {
					t.Errorf("%s refused with %q, want %q in it", s.Name, s.Error, tc.err)
				}
				if (s.Action == Start || s.Action == Adopt) && tc.current[s.Name].Spec != nil && !s.Spec.Created.Equal(tc.current[s.Name].Spec.Created) {
					t.Errorf("%s: an unchanged spec got a new age", s.Name)
				}
				if s.Spec != nil && s.Spec.Stack != "robot" && s.Action != Restart {
					t.Errorf("%s is started without its stack", s.Name)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Plan = %v, want %v", got, tc.want)
			}
			slices.Sort(stopFirst)
			if !slices.Equal(stopFirst, tc.stopFirst) {
				t.Errorf("stopped first: %v, want %v", stopFirst, tc.stopFirst)
			}
		})
	}
}
