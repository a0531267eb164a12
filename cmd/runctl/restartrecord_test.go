package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRestartsDoNotEraseTheRecord: how a --restart run's earlier instance
// ended is recorded when a restart runctl did not make follows it
// (systemd's Restart= after a crash, an outside systemctl restart), and
// the stop half of that restart, which triggers the recorder with no exit
// code, does not replace it with "did not start".
func TestRestartsDoNotEraseTheRecord(t *testing.T) {
	shared(t)
	for _, how := range []string{"Restart=", "systemctl restart"} {
		t.Run(how, func(t *testing.T) {
			name := runName(t)
			t.Cleanup(func() { runctl(t, "rm", "-f", name) })
			if r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--restart", "on-failure", "--restart-delay", "0", "--", "sleep", "3001"); r.code != 0 {
				t.Fatalf("run -d: %v", r)
			}
			unit := "runctl-" + name + ".service"
			if how == "Restart=" {
				inside(t, "kill", "-SEGV", strconv.Itoa(mainPID(t, name)))
			} else {
				inside(t, "systemctl", "restart", unit)
			}
			// The end the restart followed is recorded (the run's own
			// ExecStopPost=), and nothing erases it after.
			record := sbOf(t).Path("/var/lib/runctl/runs/" + name + ".exit")
			var got string
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if got, _ = os.Readlink(record); strings.TrimSpace(got) == "success" {
					t.Fatalf("after %s, the record is %q: how the run ended was erased", how, got)
				}
			}
			if want := map[string]string{"Restart=": "SEGV", "systemctl restart": "success killed TERM"}[how]; !strings.Contains(got, want) {
				t.Fatalf("after %s, the record is %q; want how the earlier instance ended (%s)", how, got, want)
			}
			if s := runctl(t, "status", name); strings.Contains(s.stdout, "did not start") {
				t.Fatalf("after %s, status says the run did not start:\n%v", how, s)
			}
		})
	}
}
