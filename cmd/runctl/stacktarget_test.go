package main

// An enabled stack is one target, runctl-STACK.target: its runs start with
// it at boot in the order their after gives, systemctl restart of it
// restarts them all, one run's crash touches no other, and disable --stack
// removes it.

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

func TestStackTarget(t *testing.T) {
	shared(t)
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result { t.Helper(); return inEnv(s, nil, args...) }
	show := func(s *sandbox.Sandbox, prop string, units ...string) []string {
		t.Helper()
		out, err := s.Command(t.Context(), "systemctl", append([]string{"show", "-P", prop}, units...)...).Output()
		if err != nil {
			t.Fatalf("systemctl show %s: %v", prop, err)
		}
		return strings.Fields(string(out))
	}
	members := []string{"runctl-sa.service", "runctl-sb.service", "runctl-sc.service"}
	const target = "runctl-robot.target"
	targetFile := "/etc/systemd/system/" + target
	// sb starts after sa, sc after sb, whatever the file's order.
	const file = "/var/tmp/robot/stack.yaml"
	text := `name: robot
runs:
  - name: sc
    command: [sh, -c, 'echo up $0; sleep 1000; :', sc]
    after: [sb]
  - name: sa
    command: [sh, -c, 'echo up $0; sleep 1000; :', sa]
  - name: sb
    command: [sh, -c, 'echo up $0; sleep 1000; :', sb]
    after: [sa]
`

	s := boot()
	if err := os.MkdirAll(s.Path("/var/tmp/robot"), 0o755); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(file), []byte(text), 0o644); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if r := in(s, "apply", file); r.code != 0 {
		s.Close()
		t.Fatalf("apply: %v", r)
	}
	// Runs that are not enabled need no target.
	if _, err := os.Stat(s.Path(targetFile)); !errors.Is(err, os.ErrNotExist) {
		s.Close()
		t.Fatalf("a stack of transient runs got a target: %v", err)
	}
	if r := in(s, "enable", "--stack", "robot"); r.code != 0 || !strings.Contains(r.stdout, "stack robot: "+target+" starts 3 runs at boot") {
		s.Close()
		t.Fatalf("enable --stack: %v", r)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	if got := show(s, "ActiveState", append([]string{target}, members...)...); !slices.Equal(got, []string{"active", "active", "active", "active"}) {
		t.Fatalf("after the boot %s and its runs are %q, want all active", target, got)
	}
	if got := show(s, "Requires", target); len(got) != 0 {
		t.Errorf("%s requires %q: a run's end would reach the others", target, got)
	}
	// The runs are part of it (PartOf=), not wanted by it: a unit a loaded
	// target wants stays loaded once stopped.
	if got := show(s, "ConsistsOf", target); len(got) != 3 {
		t.Errorf("%s consists of %q, want the 3 runs", target, got)
	}
	if got := show(s, "Wants", target); len(got) != 0 {
		t.Errorf("%s wants %q: a stopped run would stay loaded as it was made", target, got)
	}
	var started []int
	for _, ts := range show(s, "ExecMainStartTimestampMonotonic", members...) {
		n, _ := strconv.Atoi(ts)
		started = append(started, n)
	}
	if len(started) != 3 || !(started[0] < started[1] && started[1] < started[2]) {
		t.Errorf("the runs started at boot at %v (sa, sb, sc), want in their after order", started)
	}
	if r := in(s, "logs", "--stack", "robot", "-n", "all", "-o", "cat"); r.code != 0 || !strings.Contains(r.stdout, "up sa") || !strings.Contains(r.stdout, "up sc") {
		t.Errorf("logs --stack: %v", r)
	}

	// systemctl restart of the target restarts every run.
	before := show(s, "MainPID", members...)
	if out, err := s.Command(t.Context(), "systemctl", "restart", target).CombinedOutput(); err != nil {
		t.Fatalf("systemctl restart %s: %v\n%s", target, err, out)
	}
	// systemctl waits for the target's job; the runs' restarts it
	// propagates end a moment later.
	restarted := func(after []string) bool {
		for i := range members {
			if after[i] == before[i] || after[i] == "0" {
				return false
			}
		}
		return true
	}
	after := show(s, "MainPID", members...)
	for deadline := time.Now().Add(30 * time.Second); !restarted(after) && time.Now().Before(deadline); after = show(s, "MainPID", members...) {
		time.Sleep(50 * time.Millisecond)
	}
	for i := range members {
		if after[i] == before[i] || after[i] == "0" {
			t.Errorf("%s: pid %s before systemctl restart %s, %s after: want a new one", members[i], before[i], target, after[i])
		}
	}

	// One run's crash restarts no other.
	if out, err := s.Command(t.Context(), "systemctl", "kill", "-s", "KILL", members[1]).CombinedOutput(); err != nil {
		t.Fatalf("kill: %v\n%s", err, out)
	}
	for deadline := time.Now().Add(10 * time.Second); show(s, "ActiveState", members[1])[0] == "active"; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still active after SIGKILL", members[1])
		}
	}
	if got := show(s, "MainPID", members[0], members[2]); got[0] != after[0] || got[1] != after[2] {
		t.Errorf("after sb's crash sa and sc have pids %q, were %s and %s", got, after[0], after[2])
	}
	if got := show(s, "ActiveState", target)[0]; got != "active" {
		t.Errorf("after sb's crash %s is %s", target, got)
	}

	// disable --stack removes the target and the runs' part in it.
	if r := in(s, "disable", "--stack", "robot"); r.code != 0 || !strings.Contains(r.stdout, target+" removed") {
		t.Fatalf("disable --stack: %v", r)
	}
	if _, err := os.Stat(s.Path(targetFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("disable --stack left %s: %v", targetFile, err)
	}
	if got := show(s, "LoadState", target)[0]; got != "not-found" {
		t.Errorf("after disable --stack %s is %s, want not-found", target, got)
	}
	if got := show(s, "PartOf", members[0]); len(got) != 0 {
		t.Errorf("after disable --stack sa is still PartOf %q", got)
	}
}

// The target follows the stack's enabled runs through apply: written by
// an apply that enables runs, with the runs' PartOf= drop-ins, and removed
// with them by the apply that prunes one and enables none. Alone on its
// manager: enable reloads it.
func TestStackTargetFollowsApply(t *testing.T) {
	alone(t)
	n := stackNames(t, 2)
	a, b := n[0], n[1]
	stackName := "s" + a
	show := func(prop, unit string) string {
		t.Helper()
		return strings.TrimSpace(inside(t, "systemctl", "show", "-P", prop, unit))
	}
	dropIn := func(name string) bool {
		_, err := os.Stat(sbOf(t).Path("/etc/systemd/system/runctl-" + name + ".service.d/50-runctl-stack.conf"))
		return err == nil
	}
	target := "runctl-" + stackName + ".target"
	file := stackFile(t, "/var/tmp/"+stackName, "")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(sbOf(t).Path(file), []byte("name: "+stackName+"\nruns:\n"+text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runA := fmt.Sprintf("  - name: %s\n    command: [sleep, '1000']\n", a)
	runB := fmt.Sprintf("  - name: %s\n    command: [sleep, '1001']\n    enable: true\n    after: [%s]\n", b, a)

	write(runA + "    enable: true\n" + runB)
	r := runctl(t, "--json", "apply", file)
	var rep struct {
		Target struct {
			File  string   `json:"file"`
			Wants []string `json:"wants"`
		} `json:"target"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 || !slices.Equal(rep.Target.Wants, []string{a, b}) {
		t.Fatalf("apply of two enabled runs: %v; %v", err, r)
	}
	if got := show("ConsistsOf", target); got != "runctl-"+a+".service runctl-"+b+".service" && got != "runctl-"+b+".service runctl-"+a+".service" {
		t.Errorf("%s consists of %q, want both runs", target, got)
	}
	if show("UnitFileState", target) != "enabled" || show("PartOf", "runctl-"+a+".service") != target {
		t.Errorf("%s is %s, %s is PartOf %q: want it enabled, and the run part of it", target, show("UnitFileState", target), a, show("PartOf", "runctl-"+a+".service"))
	}

	// b leaves the file (--prune forgets it) and a is no longer enabled:
	// no target, no drop-in.
	write(runA)
	if r := runctl(t, "apply", "--prune", file); r.code != 0 || !strings.Contains(r.stdout, target+" removed") {
		t.Fatalf("apply --prune, enabling no run: %v", r)
	}
	if _, err := os.Stat(sbOf(t).Path("/etc/systemd/system/" + target)); !errors.Is(err, os.ErrNotExist) || dropIn(a) || dropIn(b) || show("LoadState", target) != "not-found" {
		t.Errorf("after an apply that enables no run: %s still there (%v), drop-ins %v %v, %s", target, err, dropIn(a), dropIn(b), show("LoadState", target))
	}
}
