package slot

import (
	"slices"
	"strings"
	"testing"
)

// TestPlan: one row per case of what the manager may hold under a run's
// name when the run is to start, as a transient unit or from its unit file.
func TestPlan(t *testing.T) {
	own := Observed{Loaded: true, Transient: true, Own: true}
	with := func(o Observed, f func(*Observed)) Observed { f(&o); return o }
	transient, unitFile := Want{}, Want{UnitFile: true}
	for _, c := range []struct {
		name string
		o    Observed
		w    Want
		want []Action
	}{
		{"not loaded", Observed{}, transient, []Action{Make}},
		{"started by someone else meanwhile", with(own, func(o *Observed) { o.Running = true }), transient, []Action{RefuseRunning}},
		{"own transient, same spec", with(own, func(o *Observed) { o.SameSpec = true }), transient, []Action{ResetFailed, StartByName}},
		{"own transient, same spec, pinned", with(own, func(o *Observed) { o.SameSpec, o.PinnedBy = true, []string{"runctl-b.service"} }), transient, []Action{ResetFailed, StartByName}},
		{"own transient, other spec, recorder pending", with(own, func(o *Observed) { o.RecorderPending = true }), transient, []Action{ResetFailed, WaitUnload, Make}},
		{"own transient, other spec, recorder pending and pinned", with(own, func(o *Observed) { o.RecorderPending, o.PinnedBy = true, []string{"runctl-b.service"} }), transient, []Action{ResetFailed, WaitUnload, Make}},
		// A run pinning it is refused before the stop (PinnedError); one
		// that appears meanwhile is treated as a foreign unit.
		{"own transient, other spec, pinned by a run", with(own, func(o *Observed) { o.PinnedBy = []string{"runctl-b.service"} }), transient, []Action{ResetFailed, StartAsMade}},
		{"own transient, other spec, pinned by a foreign unit", with(own, func(o *Observed) { o.PinnedBy = []string{"multi-user.target"} }), transient, []Action{ResetFailed, StartAsMade}},
		{"own transient, other spec, unloading", own, transient, []Action{ResetFailed, Make}},
		{"stale unit file (removed, still loaded)", Observed{Loaded: true, Stale: true}, transient, []Action{ResetFailed, Reload, Make}},
		{"own transient, stale", with(own, func(o *Observed) { o.Stale = true }), transient, []Action{ResetFailed, Reload, Make}},
		{"foreign unit", Observed{Loaded: true}, transient, []Action{ResetFailed, RefuseTaken}},
		{"foreign transient unit", Observed{Loaded: true, Transient: true}, transient, []Action{ResetFailed, RefuseTaken}},
		{"foreign unit, pinned", Observed{Loaded: true, PinnedBy: []string{"multi-user.target"}}, transient, []Action{ResetFailed, RefuseTaken}},

		{"enabled, loaded from its unit file", Observed{Loaded: true}, unitFile, []Action{ResetFailed, StartByName}},
		{"enabled, not loaded", Observed{}, unitFile, []Action{Reload, CheckFromFile, ResetFailed, StartByName}},
		{"enabled, transient shadowing the unit file", own, unitFile, []Action{Unlink, Reload, WaitUnload, Link, Reload, CheckFromFile, ResetFailed, StartByName}},
		{"enabled, transient shadowing the unit file, running", with(own, func(o *Observed) { o.Running = true }), unitFile, []Action{ResetFailed, StartByName}},
		{"enabled, stale unit file", Observed{Loaded: true, Stale: true}, unitFile, []Action{Reload, CheckFromFile, ResetFailed, StartByName}},
		{"enabled, a transient instance's drop-in just removed", Observed{Loaded: true}, Want{UnitFile: true, Reload: true}, []Action{Reload, CheckFromFile, ResetFailed, StartByName}},
	} {
		if got := Plan(c.o, c.w); !slices.Equal(got, c.want) {
			t.Errorf("%s: plan %v, want %v", c.name, got, c.want)
		}
	}
}

// TestPaths: every file of a run comes from the layout.
func TestPaths(t *testing.T) {
	l := Layout{Store: "/s", UnitDir: "/u", RuntimeDir: "/r", TransientDir: "/r/t", RuntimeUnitDir: "/r/u"}
	p := l.Paths("nav")
	for got, want := range map[string]string{
		p.Unit:            "runctl-nav.service",
		p.TransientDropIn: "/r/t/runctl-nav.service.d/50-runctl.conf",
		p.RuntimeDropIn:   "/r/u/runctl-nav.service.d/50-runctl.conf",
		p.UnitFile:        "/u/runctl-nav.service",
	} {
		if got != want {
			t.Errorf("path %q, want %q", got, want)
		}
	}
	for _, got := range []string{p.Marker, p.Staging} {
		if !strings.HasPrefix(got, "/r/runctl/") {
			t.Errorf("path %q is not in the runtime folder's runctl folder", got)
		}
	}
}
