package matrix

import "strings"

// checkNoReloadWarning: runctl's drop-in does not leave the run's unit
// needing a daemon-reload (systemd 256 and newer count a drop-in written
// after the unit was loaded), so `systemctl status` prints no warning.
func checkNoReloadWarning(m *machine, name string) {
	m.t.Helper()
	unit := "runctl-" + name + ".service"
	if need := m.show(unit, "NeedDaemonReload"); need != "no" {
		m.t.Errorf("%s has NeedDaemonReload=%s; drop-ins: %s", unit, need, m.show(unit, "DropInPaths"))
	}
	// status exits 0 for a running unit; its warning goes to stdout.
	out, _ := m.sb.Command(m.t.Context(), "systemctl", "status", "--no-pager", "--lines=0", unit).CombinedOutput()
	if strings.Contains(string(out), "daemon-reload") {
		m.t.Errorf("systemctl status %s warns:\n%s", unit, out)
	}
}
