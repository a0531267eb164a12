package runs

import (
	"slices"
	"testing"
)

// TestPlanTaken: one row per case of what the manager may hold under a
// run's name when its unit is to be made.
func TestPlanTaken(t *testing.T) {
	for _, c := range []struct {
		name string
		h    holding
		want []move
	}{
		{"not loaded (unloaded meanwhile)", holding{}, []move{moveMake}},
		{"started by someone else", holding{Loaded: true, Running: true, Own: true}, []move{moveRefuseRunning}},
		{"own transient, same spec (pinned)", holding{Loaded: true, Own: true, SameSpec: true, Pinned: true}, []move{moveResetFailed, moveStartByName}},
		{"own transient, other spec, recorder pending", holding{Loaded: true, Own: true, RecorderPending: true}, []move{moveResetFailed, moveWaitUnload, moveMake}},
		{"own transient, other spec, recorder pending and pinned", holding{Loaded: true, Own: true, RecorderPending: true, Pinned: true}, []move{moveResetFailed, moveWaitUnload, moveMake}},
		{"own transient, other spec, pinned by a run or a foreign unit", holding{Loaded: true, Own: true, Pinned: true}, []move{moveResetFailed, moveStartAsMade}},
		{"own transient, other spec, unloading", holding{Loaded: true, Own: true}, []move{moveResetFailed, moveMake}},
		{"stale unit file (removed, still loaded)", holding{Loaded: true, NeedsReload: true}, []move{moveResetFailed, moveReload, moveMake}},
		{"own transient, stale", holding{Loaded: true, Own: true, NeedsReload: true}, []move{moveResetFailed, moveReload, moveMake}},
		{"foreign unit", holding{Loaded: true}, []move{moveResetFailed, moveRefuseTaken}},
		{"foreign unit, pinned", holding{Loaded: true, Pinned: true}, []move{moveResetFailed, moveRefuseTaken}},
	} {
		if got := planTaken(c.h); !slices.Equal(got, c.want) {
			t.Errorf("%s: plan %v, want %v", c.name, got, c.want)
		}
	}
}
