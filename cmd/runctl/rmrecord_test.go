package main

import (
	"os"
	"strings"
	"testing"
)

// rm of a run whose end its recorder has yet to write leaves no record
// behind: the recorder of a run that was removed keeps nothing. The run is
// killed, and its recorder's job is held (by a drop-in) until rm has
// removed the run's spec (a daemon-reload makes the manager read the
// drop-in's new folder).
func TestRmBeforeTheRecorderLeavesNoRecord(t *testing.T) {
	alone(t)
	name := runName(t)
	unit := "runctl-" + name + ".service"
	if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "7781"); r.code != 0 {
		t.Fatal(r)
	}
	recorder := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "OnFailure", unit))
	if !strings.HasPrefix(recorder, "runctl.failed-") {
		t.Fatalf("%s's OnFailure= is %q, want its recorder", unit, recorder)
	}
	store := "/var/lib/runctl/runs/"
	dropIn := "/run/systemd/system/" + recorder + ".d"
	t.Cleanup(func() { os.RemoveAll(sbOf(t).Path(dropIn)) })
	if err := os.MkdirAll(sbOf(t).Path(dropIn), 0o755); err != nil {
		t.Fatal(err)
	}
	hold := "[Service]\nExecStartPre=/bin/sh -c 'i=0; while [ -e " + store + name + ".json ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done'\n"
	if err := os.WriteFile(sbOf(t).Path(dropIn+"/hold.conf"), []byte(hold), 0o644); err != nil {
		t.Fatal(err)
	}
	inside(t, "systemctl", "daemon-reload")
	inside(t, "systemctl", "kill", "-s", "KILL", unit)
	waitFor(t, func() bool {
		return prop(t, recorder, "ActiveState") == "activating"
	}, "the recorder's held start")
	if r := runctl(t, "rm", name); r.code != 0 {
		t.Fatal(r)
	}
	// The recorder keeps the run's unit loaded until it is over.
	waitFor(t, func() bool { return !strings.Contains(runctlUnits(t), unit) }, "the recorder to be over")
	if target, err := os.Readlink(sbOf(t).Path(store + name + ".exit")); err == nil {
		t.Errorf("rm %s left the record %q, written by its recorder after rm", name, target)
	}
}
