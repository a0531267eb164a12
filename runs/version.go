package runs

// managerVersion is the version of the systemd manager the runs live in:
// it decides how automatic restarts back off (units.Spec.Backoff). It is 0,
// unknown, until the version the connection reads from the manager
// (systemdctl) is passed here; with 0 every run gets what all versions
// take, a fixed delay between restarts.
func (r *Runs) managerVersion() int { return 0 }
