package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

// Runs that were running when the machine went down, by a reboot or a
// power cut, say so and name the boot, whatever ended them before: a plain
// run, a --restart run that had crash-restarted (its record says how it
// crashed), a run runctl had restarted (its record says "stopped by
// runctl"). None is "stopped by runctl", "did not start" or plain
// "stopped". An enabled run that came back at boot tells the same of its
// previous boot's instance.
func TestRunsRunningWhenTheMachineWentDown(t *testing.T) {
	shared(t)
	for _, end := range []string{"reboot", "power cut"} {
		t.Run(strings.ReplaceAll(end, " ", "-"), func(t *testing.T) {
			t.Parallel()
			wentDown(t, end)
		})
	}
}

func wentDown(t *testing.T, end string) {
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result {
		t.Helper()
		r := inEnv(s, nil, args...)
		if r.code != 0 {
			s.Close()
			t.Fatalf("runctl %q: %v", args, r)
		}
		return r
	}
	s := boot()
	in(s, "run", "-d", "-n", "plain", "--", "sleep", "1001")
	in(s, "run", "-d", "-n", "crashed", "--restart", "on-failure", "--restart-delay", "100ms", "--", "sleep", "1002")
	in(s, "run", "-d", "-n", "again", "--", "sleep", "1003")
	in(s, "restart", "again")
	in(s, "run", "-d", "--enable", "-n", "atboot", "--", "sleep", "1004")
	// The --restart run crashes once and is restarted by systemd.
	show := func(prop string) string {
		out, _ := s.Command(t.Context(), "systemctl", "show", "-P", prop, "runctl-crashed.service").Output()
		return strings.TrimSpace(string(out))
	}
	pid := show("MainPID")
	if err := s.Command(t.Context(), "kill", "-SEGV", pid).Run(); err != nil {
		s.Close()
		t.Fatalf("kill -SEGV %s: %v", pid, err)
	}
	for deadline := time.Now().Add(10 * time.Second); show("NRestarts") != "1" || show("SubState") != "running"; {
		if time.Now().After(deadline) {
			s.Close()
			t.Fatalf("the crashed run was not restarted: NRestarts %s, %s", show("NRestarts"), show("SubState"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	id, err := s.BootID()
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	downBoot := strings.ReplaceAll(id, "-", "")
	want := "was running when boot " + downBoot[:8] + " went down"
	if end == "power cut" {
		err = s.PowerCut()
	} else {
		err = s.Close()
	}
	if err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	var list []struct {
		Name     string `json:"name"`
		State    string `json:"state"`
		LastExit string `json:"last_exit"`
		DownBoot string `json:"down_boot"`
	}
	ls := in(s, "ls", "--json")
	if err := json.Unmarshal([]byte(ls.stdout), &list); err != nil {
		t.Fatalf("ls --json: %v\n%s", err, ls.stdout)
	}
	text := in(s, "ls").stdout
	seen := 0
	for _, run := range list {
		if run.Name == "atboot" {
			continue
		}
		seen++
		if run.State != "stopped" || !strings.HasPrefix(run.LastExit, want) || run.DownBoot != downBoot {
			t.Errorf("after a %s, ls --json has %s as %s, %q, down_boot %q; want stopped, %q, down_boot %s", end, run.Name, run.State, run.LastExit, run.DownBoot, want, downBoot)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, run.Name+" ") && !strings.Contains(line, want) {
				t.Errorf("after a %s, ls shows %s as:\n%s\nwant %q", end, run.Name, line, want)
			}
		}
		if st := inEnv(s, nil, "status", run.Name); !strings.Contains(st.stdout, "Last exit: "+want) {
			t.Errorf("after a %s, status %s:\n%s", end, run.Name, st.stdout)
		}
	}
	if seen != 3 {
		t.Errorf("after a %s, ls --json lists %d of the 3 stopped runs:\n%s", end, seen, ls.stdout)
	}
	// The enabled run is back, and says how its previous boot's instance
	// ended.
	var st []struct {
		State    string `json:"state"`
		LastExit string `json:"last_exit"`
		DownBoot string `json:"down_boot"`
	}
	js := inEnv(s, nil, "status", "--json", "atboot")
	if err := json.Unmarshal([]byte(js.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%v", err, js)
	}
	if st[0].State != "active" || !strings.HasPrefix(st[0].LastExit, want) || st[0].DownBoot != downBoot {
		t.Errorf("after a %s, the enabled run's status --json: %+v; want active, %q, down_boot %s", end, st[0], want, downBoot)
	}
	if txt := in(s, "status", "atboot"); !strings.Contains(txt.stdout, "Last exit: "+want) {
		t.Errorf("after a %s, the enabled run's status:\n%s", end, txt.stdout)
	}
}

// recordValues is a record's link target without the boot it was written
// in (boot=ID), which differs from boot to boot.
func recordValues(target string) string {
	var keep []string
	for i, f := range strings.Split(target, " ") {
		if i < 3 || !strings.HasPrefix(f, "boot=") {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}
