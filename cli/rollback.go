package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/units"
)

// rollbackHelp is the text of --rollback.
const rollbackHelp = "if the new instance does not come up (it ends in its settle window, or sends no READY=1 with --notify), start the previous spec again; reported as rolled back, and still a failure (exit 1)."

// rollback is what --rollback did, in a verb's --json record.
type rollback struct {
	RolledBack bool `json:"rolled_back"`
	// RollbackPID is the previous spec's new instance.
	RollbackPID   uint32 `json:"rollback_pid,omitempty"`
	RollbackError string `json:"rollback_error,omitempty"`
}

// rollBack undoes a replace or restart that did res and failed with err,
// when it failed to come up and prev (runs.Previous) ran before it: prev
// is started again. It returns the error to report, which says whether
// the rollback was done.
func rollBack(ctx context.Context, rs *runs.Runs, prev *units.Spec, res runs.Cycle, err error, settle time.Duration) (rollback, error) {
	if prev == nil || !runs.FailedToComeUp(res, err) {
		return rollback{}, err
	}
	back, rerr := rs.RollBack(ctx, prev, settle)
	if rerr != nil {
		return rollback{RollbackError: rerr.Error()}, fmt.Errorf("%w; and the rollback to the previous spec failed too: %v", err, rerr)
	}
	return rollback{RolledBack: true, RollbackPID: back.PID},
		fmt.Errorf("%w; rolled back: %s runs its previous spec again (pid %d)", err, prev.Name, back.PID)
}
