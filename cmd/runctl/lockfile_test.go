package main

import (
	"context"
	"slices"
	"testing"
)

// A run that is refused keeps nothing, its lock file included: a program
// that does not exist, and a name whose unit is taken by a unit runctl did
// not make.
func TestRefusedRunLeavesNoLockFile(t *testing.T) {
	shared(t)
	missing, taken := runName(t), runName(t)
	if out, err := sbOf(t).Command(t.Context(), "systemd-run", "--unit", "runctl-"+taken+".service", "sleep", "1000").CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v\n%s", err, out)
	}
	t.Cleanup(func() { sbOf(t).Command(context.Background(), "systemctl", "stop", "runctl-"+taken+".service").Run() })
	for _, c := range []struct{ name, program string }{{missing, "/no/such/program"}, {taken, "sleep"}} {
		r := runctl(t, "run", "-d", "-n", c.name, "--", c.program, "1000")
		if r.code == 0 {
			t.Fatalf("run -n %s -- %s: %v", c.name, c.program, r)
		}
		if files := runFiles(t); slices.Contains(files, c.name+".lock") || slices.Contains(files, c.name+".json") {
			t.Errorf("refused run %s (%s) left files: %q", c.name, r.stderr, files)
		}
	}
}
