package main

import (
	"fmt"
	"os"
	"testing"
)

// logs -f of a run not started yet prints every line of the run, also
// those it writes before the follower's journalctl is there: here runctl
// stands still between saying it waits and following (RUNCTL_PAUSE_AT)
// while the run writes 2,000 lines.
func TestLogsFollowBeforeStartMissesNoLineMeanwhile(t *testing.T) {
	shared(t)
	const lines = 2000
	name := runName(t)
	pause := "/run/pause-follow-" + name
	f := startFollowEnv(t, []string{"RUNCTL_PAUSE_AT=follow-start", "RUNCTL_PAUSE_FILE=" + pause}, name)
	if _, err := f.stderr.ReadString('\n'); err != nil {
		t.Fatalf("logs -f of a run not started yet: %v", err)
	}
	waitFor(t, func() bool { _, err := os.Stat(sbOf(t).Path(pause)); return err == nil }, "logs -f to pause before following")
	script := fmt.Sprintf(`seq -f "line %%.0f" 1 %d; echo DONE; exec sleep 1000`, lines)
	if r := runctl(t, "run", "-d", "--settle", "0", "--no-log-limit", "-n", name, "--", "sh", "-c", script); r.code != 0 {
		t.Fatal(r)
	}
	waitFor(t, func() bool {
		return inside(t, "journalctl", "-u", "runctl-"+name+".service", "-n", "1", "-o", "cat") == "DONE\n"
	}, "the run's last line in the journal")
	if err := os.Remove(sbOf(t).Path(pause)); err != nil {
		t.Fatal(err)
	}
	if err := checkRun(f.burstLines(t, "DONE"), 1, lines); err != nil {
		t.Fatalf("logs -f started before the run, following once it had written: %v", err)
	}
}
