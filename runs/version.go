package runs

import (
	"context"
	"fmt"

	"github.com/runctl/runctl/units"
)

// supported refuses, before anything is made, a manager older than the
// oldest systemd runctl makes runs in. verb is what is refused ("start
// nav").
func (r *Runs) supported(ctx context.Context, verb string) error {
	v, err := r.Manager.Version(ctx)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", verb, err)
	}
	if err := units.CheckVersion(v); err != nil {
		return fmt.Errorf("cannot %s: %w", verb, err)
	}
	return nil
}
