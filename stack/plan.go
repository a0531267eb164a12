package stack

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/runctl/runctl/units"
)

// What a step of a plan does to a run.
const (
	Unchanged = "unchanged" // its spec and state are the file's: not touched
	Adopt     = "adopt"     // as unchanged, and its spec records the stack
	Start     = "start"     // new, or not running: started
	Replace   = "replace"   // its spec changed: stopped, then started from the new one
	Restart   = "restart"   // unchanged, but it starts after a run that is replaced
	Enable    = "enable"    // running as the file says, but to be enabled
	Disable   = "disable"   // running as the file says, but to be disabled
	Prune     = "prune"     // a run of the stack that left the file: stopped and forgotten
	Leave     = "leave"     // left the file, left alone (no --prune)
	Refuse    = "refuse"    // cannot be applied: Error says why
)

// Current is what the manager has of one name now.
type Current struct {
	Spec    *units.Spec // the kept spec, nil if none
	Damaged error       // the kept spec cannot be read
	Running bool
	Enabled bool
	// Loaded: systemd has its unit loaded (running, or failed): while
	// it is, the runs it starts after cannot be replaced.
	Loaded bool
}

// Step is one run's part of a plan.
type Step struct {
	Name   string `json:"name"`
	Action string `json:"action"`
	// Changed are the spec's fields that differ (replace), by their names
	// in the kept spec; never their values, which may be secrets.
	Changed []string `json:"changed,omitempty"`
	// Enable: the run's unit file is written and enabled (or removed, with
	// Disable) as part of the step.
	Enable  bool   `json:"enable,omitempty"`
	Disable bool   `json:"disable,omitempty"`
	Error   string `json:"error,omitempty"`
	// StopFirst: the run starts after a run that is replaced, which
	// systemd keeps as it was made while this one is loaded: it is
	// stopped before any run is replaced, and started again in its turn.
	StopFirst bool `json:"stop_first,omitempty"`
	// Why a run that did not change is restarted.
	Why string `json:"why,omitempty"`
	// After are the runs of the file this one waits for in this plan.
	After []string `json:"-"`
	// Spec is what the run is started from (start, replace, adopt).
	Spec *units.Spec `json:"-"`
}

// Plan decides what brings the runs to the file's state: specs are the
// file's runs' specs in its order (Run.Spec), enable says which the file
// enables, current is what the manager has of every name it keeps, and
// prune says whether runs of the stack that left the file go. Steps come
// in an order that respects each run's after: a run follows the runs of
// the file it starts after. Runs that left the file come first.
func Plan(stack string, specs []*units.Spec, enable map[string]bool, current map[string]Current, prune bool) ([]Step, error) {
	inFile := map[string]*units.Spec{}
	for _, s := range specs {
		inFile[s.Name] = s
	}
	var steps []Step
	pruned := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(current)) {
		cur := current[name]
		if cur.Spec == nil || cur.Spec.Stack != stack || inFile[name] != nil {
			continue
		}
		if prune {
			steps = append(steps, Step{Name: name, Action: Prune})
			pruned[name] = true
		} else {
			steps = append(steps, Step{Name: name, Action: Leave})
		}
	}
	order, err := afterOrder(specs, current)
	if err != nil {
		return nil, err
	}
	for _, s := range order {
		step := Step{Name: s.Name, Spec: s}
		for _, a := range s.After {
			if inFile[a] != nil {
				step.After = append(step.After, a)
			}
		}
		steps = append(steps, decide(stack, step, enable[s.Name], current[s.Name], inFile, current, pruned))
	}
	return bounce(steps, current, pruned), nil
}

// bounce marks the runs to stop before the replaces: those systemd has
// loaded that start after a replaced run that is loaded, directly or
// through others loaded. Unchanged ones of the file are restarted; runs
// outside it are restarted from their kept specs after the file's.
func bounce(steps []Step, current map[string]Current, pruned map[string]bool) []Step {
	// dependents: the loaded runs naming each run in their after, as
	// systemd has them now (from the kept specs).
	dependents := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(current)) {
		c := current[name]
		if c.Spec == nil || !c.Loaded || pruned[name] {
			continue
		}
		for _, a := range c.Spec.After {
			dependents[a] = append(dependents[a], name)
		}
	}
	stop := map[string]string{} // run to stop first → the replaced run it starts after
	var visit func(name, root string)
	visit = func(name, root string) {
		for _, d := range dependents[name] {
			if _, seen := stop[d]; !seen {
				stop[d] = root
				visit(d, root)
			}
		}
	}
	for _, st := range steps {
		if st.Action == Replace && current[st.Name].Loaded {
			visit(st.Name, st.Name)
		}
	}
	if len(stop) == 0 {
		return steps
	}
	inPlan := map[string]bool{}
	for i := range steps {
		st := &steps[i]
		inPlan[st.Name] = st.Action != Leave
		root, ok := stop[st.Name]
		if !ok {
			continue
		}
		switch st.Action {
		case Replace, Start:
			st.StopFirst = true
		case Unchanged, Adopt, Enable, Disable:
			if st.Spec == nil {
				kept := *current[st.Name].Spec
				st.Spec = &kept
			}
			st.Action, st.StopFirst = Restart, true
			st.Why = "it starts after " + root + ", which is replaced"
		}
	}
	// A run that left the file is restarted as one outside it, after the
	// file's.
	steps = slices.DeleteFunc(steps, func(st Step) bool {
		_, ok := stop[st.Name]
		return ok && st.Action == Leave
	})
	var outside []*units.Spec
	for _, name := range slices.Sorted(maps.Keys(stop)) {
		if !inPlan[name] {
			kept := *current[name].Spec
			outside = append(outside, &kept)
		}
	}
	ordered, _ := afterOrder(outside, current) // no cycle: they run
	for _, s := range ordered {
		steps = append(steps, Step{Name: s.Name, Action: Restart, StopFirst: true, Spec: s, After: s.After,
			Why: "it starts after " + stop[s.Name] + ", which is replaced"})
	}
	return steps
}

func decide(stack string, step Step, enable bool, cur Current, inFile map[string]*units.Spec, current map[string]Current, pruned map[string]bool) Step {
	refuse := func(format string, args ...any) Step {
		step.Action, step.Error, step.Spec = Refuse, fmt.Sprintf(format, args...), nil
		return step
	}
	for _, dep := range [...]struct {
		key, verb string
		names     []string
	}{{"after", "starts after", step.Spec.After}, {"wants", "wants", step.Spec.Wants}} {
		for _, a := range dep.names {
			_, kept := current[a]
			switch {
			case units.IsSystemdUnit(a):
			case pruned[a]:
				return refuse("it %s %s, which --prune removes: add %s to the file or take it out of %s", dep.verb, a, a, dep.key)
			case inFile[a] == nil && !kept:
				return refuse("it %s %s, which is neither in the file nor a run runctl keeps", dep.verb, a)
			}
		}
	}
	switch {
	case cur.Damaged != nil:
		return refuse("%v", cur.Damaged)
	case cur.Spec != nil && cur.Spec.Stack != "" && cur.Spec.Stack != stack:
		return refuse("run %s belongs to stack %s: take it out of that stack's file (apply it with --prune), or rename it here", step.Name, cur.Spec.Stack)
	case cur.Spec == nil:
		step.Action, step.Enable = Start, enable
		return step
	}
	step.Changed = Changed(cur.Spec, step.Spec)
	switch {
	case len(step.Changed) > 0:
		step.Action = Replace
	case !cur.Running:
		step.Action = Start
	case cur.Spec.Stack != stack:
		step.Action = Adopt
	default:
		step.Action = Unchanged
	}
	if step.Action != Replace {
		// Unchanged spec: keep its age and anything it holds the same.
		kept := *cur.Spec
		kept.Stack = stack
		step.Spec = &kept
	}
	step.Enable, step.Disable = enable && !cur.Enabled, !enable && cur.Enabled
	if step.Action == Unchanged && step.Enable {
		step.Action = Enable
	}
	if step.Action == Unchanged && step.Disable {
		step.Action = Disable
	}
	if step.Action == Unchanged {
		step.Spec = nil
	}
	return step
}

// Changed names the fields of the kept spec that differ from want, as the
// spec's JSON names them: not when it was made, nor its stack, nor the
// order of its -p settings.
func Changed(kept, want *units.Spec) []string {
	a, b := comparable(kept), comparable(want)
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	t := va.Type()
	for i := range t.NumField() {
		if reflect.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

func comparable(s *units.Spec) units.Spec {
	c := *s
	c.Created, c.Stack = time.Time{}, ""
	if c.Restart == "" {
		c.Restart = "no"
	}
	c.Properties = sortProperties(c.Properties)
	// An empty list and none are the same.
	for _, l := range []*[]string{&c.Env, &c.After, &c.Wants, &c.Properties, &c.Argv} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return c
}

// afterOrder orders the file's runs so each follows the runs of the file
// it starts after, otherwise keeping the file's order; a cycle, also one
// through runs outside the file, is an error.
func afterOrder(specs []*units.Spec, current map[string]Current) ([]*units.Spec, error) {
	inFile := map[string]*units.Spec{}
	for _, s := range specs {
		inFile[s.Name] = s
	}
	after := func(name string) []string {
		if s := inFile[name]; s != nil {
			return s.After
		}
		if c := current[name]; c.Spec != nil {
			return c.Spec.After
		}
		return nil
	}
	for _, s := range specs {
		if err := units.AfterCycle(s, after); err != nil {
			return nil, fmt.Errorf("run %s: %w", s.Name, err)
		}
	}
	var out []*units.Spec
	placed := map[string]bool{}
	var place func(s *units.Spec)
	place = func(s *units.Spec) {
		if placed[s.Name] {
			return
		}
		placed[s.Name] = true
		for _, a := range s.After {
			if d := inFile[a]; d != nil {
				place(d)
			}
		}
		out = append(out, s)
	}
	for _, s := range specs {
		place(s)
	}
	return out, nil
}

// Ordered orders runs so each follows those of the list it starts after,
// otherwise keeping the list's order: the order a stack's runs start in.
func Ordered(specs []*units.Spec) []*units.Spec {
	out, err := afterOrder(specs, nil)
	if err != nil {
		return specs // a cycle: runctl run refuses to make one
	}
	return out
}
