package fleet_test

// runctl -H HOSTS apply FILE: the file's content goes to every robot (it is
// not there), and a roll with --serial 1 --max-fail 0 stops at the robot
// whose change fails.

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApplyRollStopsAtFailure(t *testing.T) {
	t.Parallel()
	name := runName(t)
	stackName := "s" + name
	// A folder that exists only here: the robots get the text, not a path.
	file := filepath.Join(t.TempDir(), "stack.yaml")
	// The version is the script's $0, in the main process's argv.
	write := func(script, version string) {
		t.Helper()
		text := fmt.Sprintf("name: %s\nruns:\n  - name: %s\n    command: [sh, -c, '%s', %s]\n    dir: /\n", stackName, name, script, version)
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmdline := func(i int) string {
		t.Helper()
		pid := strings.TrimSpace(on(t, i, "systemctl", "show", "-P", "MainPID", "runctl-"+name+".service"))
		return strings.ReplaceAll(on(t, i, "cat", "/proc/"+pid+"/cmdline"), "\x00", " ")
	}

	write("sleep 1000; :", "v1")
	r := runctl(t, "-H", hosts(3), "apply", file)
	if r.code != 0 || !strings.Contains(r.stdout, "3 ok") || !strings.Contains(r.stdout, "stack "+stackName+": 1 started") {
		t.Fatalf("apply on 3 hosts: %v", r)
	}
	for i := range 3 {
		if c := cmdline(i); !strings.Contains(c, "v1") {
			t.Fatalf("robot %d runs %q, want v1", i+1, c)
		}
	}
	before := []string{invocation(t, 0, name), invocation(t, 1, name), invocation(t, 2, name)}

	// v2 dies at once on robot-2: its apply fails in the settle window,
	// rolls back to v1 there, and robot-3 is not touched.
	write(`if [ "$(hostname)" = robot-2 ]; then exit 3; fi; sleep 1000; :`, "v2")
	r = runctl(t, "-H", hosts(3), "--serial", "1", "--max-fail", "0", "--json", "apply", "--rollback", "--settle=500ms", file)
	recs := records(t, r)
	if r.code != 1 {
		t.Errorf("exit %d, want 1\n%v", r.code, r)
	}
	for h, o := range map[string]string{"robot-1": "ok", "robot-2": "failed", "robot-3": "skipped"} {
		if recs[h].Outcome != o {
			t.Errorf("%s: outcome %q (%s), want %s\n%v", h, recs[h].Outcome, recs[h].Error, o, r)
		}
	}
	if res := string(recs["robot-2"].Result); !strings.Contains(res, "exited") || !strings.Contains(res, `"rolled_back": true`) {
		t.Errorf("robot-2's result does not say its run exited and was rolled back: %s", res)
	}
	if c := cmdline(1); !strings.Contains(c, "v1") {
		t.Errorf("robot-2 runs %q, want v1 again (rolled back)", c)
	}
	if c := cmdline(0); !strings.Contains(c, "v2") {
		t.Errorf("robot-1 runs %q, want v2", c)
	}
	if invocation(t, 2, name) != before[2] || !strings.Contains(cmdline(2), "v1") {
		t.Error("robot-3 was touched")
	}
}
