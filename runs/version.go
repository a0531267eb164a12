package runs

import "context"

// managerVersion is the version of the systemd manager the runs live in
// (0 if it cannot be read): it decides how automatic restarts back off
// (units.Spec.Backoff) and how ends are recorded (recorder). The
// connection reads it once, at no D-Bus call as root.
func (r *Runs) managerVersion() int {
	v, _ := r.Manager.Version(context.Background())
	return v
}
