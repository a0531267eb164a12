package main

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRestartsDoNotEraseTheRecord: the stop half of a restart that runctl
// did not make (systemd's Restart= after a crash, an outside systemctl
// restart) triggers the recorder with no exit code; that must not replace
// how the run last ended with "did not start".
func TestRestartsDoNotEraseTheRecord(t *testing.T) {
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
			record := sb.Path("/var/lib/runctl/runs/" + name + ".exit")
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if got, err := os.Readlink(record); err == nil && strings.TrimSpace(got) == "success" {
					t.Fatalf("after %s, the record is %q: how the run ended was erased", how, got)
				}
			}
			if s := runctl(t, "status", name); strings.Contains(s.stdout, "did not start") {
				t.Fatalf("after %s, status says the run did not start:\n%v", how, s)
			}
		})
	}
}
