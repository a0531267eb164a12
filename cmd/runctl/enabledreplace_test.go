package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A stopped run can keep a drop-in the manager never loaded (one made in a
// folder new since the last reload): systemd deletes only what it loaded.
// Once the run is enabled, its unit file loads with that drop-in, and run
// --replace must start the new command, not the drop-in's old one (found
// by TestSequence, seed 1796574039524200979).
func TestReplaceOfEnabledRunOverAnOldDropIn(t *testing.T) {
	alone(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	dropIn := sbOf(t).Path("/run/systemd/transient/runctl-" + name + ".service.d/50-runctl.conf")
	if r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sleep", "3001"); r.code != 0 {
		t.Fatal(r)
	}
	old, err := os.ReadFile(dropIn)
	if err != nil {
		t.Fatalf("the run's drop-in: %v", err)
	}
	if r := runctl(t, "stop", name); r.code != 0 {
		t.Fatal(r)
	}
	// As the manager leaves it when it had not loaded it.
	if err := os.MkdirAll(filepath.Dir(dropIn), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dropIn, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runctl(t, "enable", name); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "run", "-d", "--settle", "0", "--replace", "-n", name, "--", "sleep", "3002"); r.code != 0 {
		t.Fatal(r)
	}
	if got := procArgv(t, mainPID(t, name)); !slices.Equal(got, []string{"sleep", "3002"}) {
		t.Errorf("run --replace of an enabled run runs %q, want [sleep 3002]; unit needs a reload: %s", got, prop(t, "runctl-"+name+".service", "NeedDaemonReload"))
	}
	if _, err := os.Stat(dropIn); err == nil {
		t.Errorf("the old drop-in is still there")
	}
}
