package main

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
)

// A program that ends while PID 1 re-executes during runctl's stop or
// restart can be collected before runctl reconnects, its end unsignalled:
// runctl reports and records how it ended all the same, from what the
// run's recorder wrote. runctl is held between StopUnit and its wait (the
// faults build's pause point) while the manager re-executes and the
// program, which ends at SIGTERM once the test lets it, ends and is
// collected.
func TestStopAcrossReexecKnowsHowTheProgramEnded(t *testing.T) {
	alone(t)
	for _, verb := range []string{"stop", "restart"} {
		t.Run(verb, func(t *testing.T) {
			name := runName(t)
			ready, gate, pause := "/run/"+name+".ready", "/run/"+name+".gate", "/run/"+name+".paused"
			t.Cleanup(func() {
				for _, f := range []string{ready, gate, pause} {
					os.Remove(sbOf(t).Path(f))
				}
			})
			// First, while the gate is open: restart's new instance ends
			// at once.
			t.Cleanup(func() { runctl(t, "rm", "--force", name) })
			script := `trap 'while [ ! -e ` + gate + ` ]; do sleep 0.01; done; exit 0' TERM; touch ` + ready + `; while :; do sleep 0.05; done`
			if r := runctl(t, "run", "-d", "-n", name, "--", "sh", "-c", script); r.code != 0 {
				t.Fatal(r)
			}
			exists := func(f string) func() bool {
				return func() bool { _, err := os.Stat(sbOf(t).Path(f)); return err == nil }
			}
			waitFor(t, exists(ready), "the program's trap")
			os.Remove(sbOf(t).Path(ready))
			cmd := runctlCmd(t, "/", "--json", verb, name)
			cmd.Env = append(cmd.Env, "RUNCTL_PAUSE_AT=stop-enqueued", "RUNCTL_PAUSE_FILE="+pause)
			var out, errs lockedBuffer
			cmd.Stdout, cmd.Stderr = &out, &errs
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, exists(pause), "runctl to pause after StopUnit")
			inside(t, "systemctl", "daemon-reexec")
			if err := os.WriteFile(sbOf(t).Path(gate), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			// The program ends, the manager collects its unit (once its
			// recorder has run), and only then does runctl go on.
			unit := "runctl-" + name + ".service"
			waitFor(t, func() bool { return !strings.Contains(runctlUnits(t), unit) }, "the stopped unit to be collected")
			if err := os.Remove(sbOf(t).Path(pause)); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("%s across daemon-reexec: %v\n%s%s", verb, err, out.String(), errs.String())
			}
			var got struct {
				Ended    string `json:"ended"`
				OldEnded string `json:"old_ended"`
			}
			if err := json.Unmarshal([]byte(out.String()), &got); err != nil {
				t.Fatalf("%s --json: %v\n%s", verb, err, out.String())
			}
			if ended := got.Ended + got.OldEnded; ended != "exit status 0" {
				t.Errorf("%s reports the program's end as %q, want %q:\n%s", verb, ended, "exit status 0", out.String())
			}
			target, err := os.Readlink(sbOf(t).Path("/var/lib/runctl/runs/" + name + ".exit"))
			if f := strings.Fields(target); len(f) < 4 || strings.Join(f[:3], " ") != "success exited 0" || !slices.Contains(f[3:], "runctl") {
				t.Errorf("the record of %s is %q (%v), want the stop by runctl and the program's exit status 0", name, target, err)
			}
		})
	}
}
