package journal

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/runctl/runctl/sandbox"
)

var sb *sandbox.Sandbox

// insideEnv marks this test binary run again inside the sandbox, where
// journalctl reads the sandbox's journal.
const insideEnv = "RUNCTL_TEST_INSIDE"

func TestMain(m *testing.M) {
	if os.Getenv(insideEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(sandbox.RunTests(m, &sb, sandbox.Options{}))
}

// A 200,000-byte line is 5 journal entries (journald's LineMax is 48 KiB):
// status (Tail) and logs -n (Read) count and show it as one line.
func TestSplitLinesJoinedAgainstJournald(t *testing.T) {
	if !sandbox.RunInside(t, sb, insideEnv) {
		return
	}
	unit := fmt.Sprintf("jt%d.service", os.Getpid())
	script := `head -c 200000 /dev/zero | tr '\000' b; echo; echo one; echo two`
	if out, err := exec.Command("systemd-run", "--quiet", "--wait", "--unit="+unit, "sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("systemd-run: %v\n%s", err, out)
	}
	exec.Command("journalctl", "--sync").Run()
	long := strings.Repeat("b", 200000)
	program := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			if !e.Manager {
				out = append(out, string(e.Message))
			}
		}
		return out
	}
	tail, err := Tail(t.Context(), false, []string{unit}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if got := program(tail[unit]); len(got) != 3 || got[0] != long || got[1] != "one" || got[2] != "two" {
		t.Errorf("Tail: %d program lines, want the 200,000-byte line, one, two (first is %d bytes)", len(got), len(got[0]))
	}
	// The last lines from the long one on: however many manager lines
	// follow, the long line comes whole.
	var all []Entry
	if err := Read(t.Context(), Query{Units: []string{unit}}, 0, func(e Entry) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	from := -1
	for i, e := range all {
		if string(e.Message) == long {
			from = i
		}
	}
	if from < 0 {
		t.Fatalf("Read of all lines lacks the whole 200,000-byte line: %d lines", len(all))
	}
	var last []Entry
	if err := Read(t.Context(), Query{Units: []string{unit}}, len(all)-from, func(e Entry) error { last = append(last, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(last) != len(all)-from || string(last[0].Message) != long {
		t.Errorf("Read of the last %d lines gave %d, the first %d bytes", len(all)-from, len(last), len(last[0].Message))
	}
}
