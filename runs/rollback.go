package runs

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/runctl/runctl/runs/slot"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Previous is what a replace of the run can roll back to: its kept spec,
// if the run is running now; nil if it is not (there is nothing to go
// back to). Read before the replace, which keeps the new spec.
func (r *Runs) Previous(ctx context.Context, name string) (*units.Spec, error) {
	st, err := r.Manager.Brief(ctx, units.UnitName(name))
	if err != nil || !st.Running() {
		return nil, err
	}
	spec, err := r.load(name)
	if errors.Is(err, ErrUnknown) {
		return nil, nil
	}
	return spec, err
}

// FailedToComeUp says whether a replace or restart that did res and
// returned err stopped a running instance and then could not bring the
// new one up: it ended in its start or settle window (a short job that
// finished is not a failure), sent no READY=1, or could not be started.
// That, and only that, is what --rollback undoes.
func FailedToComeUp(res Cycle, err error) bool {
	var died *DiedError
	var kept *slot.KeptError
	switch {
	case err == nil, errors.As(err, &died) && died.Finished(), errors.As(err, &kept):
		return false
	}
	stopped := slices.ContainsFunc(res.Steps, func(s Step) bool { return s.Step == "stop" })
	was := systemdctl.State{ActiveState: res.WasState}
	return stopped && was.Running()
}

// RollBack starts prev, the spec a failed replace or restart took the
// place of, again in place of what is there now, and watches it settle
// as the change was. prev becomes the kept spec again.
func (r *Runs) RollBack(ctx context.Context, prev *units.Spec, settle time.Duration) (Started, error) {
	res, _, err := r.Start(ctx, prev, StartOptions{Replace: true, Settle: settle})
	return res, err
}
