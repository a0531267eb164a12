package runs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Stopped is how one run's stop went; its JSON is what `stop --json` prints.
type Stopped struct {
	Name      string `json:"name"`
	Unit      string `json:"unit"`
	WasState  string `json:"was_state"`
	Ended     string `json:"ended,omitempty"` // "exit status 0", "killed by SIGTERM"
	Result    string `json:"result,omitempty"`
	Escalated bool   `json:"escalated"` // SIGKILL was needed (or --force)
	// NotRunning: there was nothing to stop (ErrNotRunning).
	NotRunning bool    `json:"not_running,omitempty"`
	TookSec    float64 `json:"took_sec"`
	Error      string  `json:"error,omitempty"`
}

// ErrNotRunning: the run to stop was not running.
var ErrNotRunning = errors.New("not running")

// Stop stops one run, holding its lock (but for a start another runctl
// waits for: lockForStop). A timeout of 0 leaves escalation to the unit's
// own TimeoutStopSec, which is the run's stop timeout.
func (r *Runs) Stop(ctx context.Context, name string, timeout time.Duration, force bool) (Stopped, error) {
	unlock, err := r.lockForStop(ctx, name)
	if err != nil {
		return Stopped{Name: name, Unit: units.UnitName(name)}, err
	}
	defer unlock()
	return r.stop(ctx, name, timeout, force, r.slots().Enabled(name))
}

// stop stops the run; enabled says whether runctl wrote its unit file.
func (r *Runs) stop(ctx context.Context, name string, timeout time.Duration, force, enabled bool) (Stopped, error) {
	unit := units.UnitName(name)
	res := Stopped{Name: name, Unit: unit}
	out, err := r.slots().Stop(ctx, name, systemdctl.StopOptions{Timeout: timeout, Force: force}, enabled)
	res.WasState, res.Ended, res.Result = out.Before.ActiveState, out.After.Ended(), out.After.Result
	res.Escalated, res.TookSec = out.Escalated, out.Took.Seconds()
	switch {
	case errors.Is(err, systemdctl.ErrNotLoaded) || err == nil && out.Before.ActiveState == "inactive":
		if !r.Store.Has(name) {
			return res, unknown(name)
		}
		res.NotRunning = true
		return res, fmt.Errorf("%w: %s is not running", ErrNotRunning, name)
	case err != nil:
		return res, r.permissionHint(fmt.Errorf("cannot stop %s: %w", name, err))
	}
	return res, nil
}
