package main

import (
	"strings"
	"testing"
)

// A -d job that exits 0 within the settle window and leaves nothing behind
// finished: exit 0, no hint about daemonizing. One that leaves a process
// behind (which systemd then ends) still gets the hint and exit 1.
func TestShortJobFinished(t *testing.T) {
	shared(t)
	for i := 0; i < 3; i++ {
		name := runName(t)
		r := runctl(t, "run", "-d", settle, "-n", name, "--", "sh", "-c", "echo done-"+name)
		if r.code != 0 || !strings.Contains(r.stdout, name+" finished (exit 0)") || !strings.Contains(r.stdout, "done-"+name) || strings.Contains(r.stdout+r.stderr, "daemonizes") {
			t.Errorf("short job: %v", r)
		}
		left := runName(t)
		r = runctl(t, "run", "-d", settle, "-n", left, "--", "sh", "-c", "sleep 100 & exit 0")
		if r.code != 1 || !strings.Contains(r.stderr, "daemonizes itself") {
			t.Errorf("job that left a process behind: %v", r)
		}
	}
}
