package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// nRestarts is how often systemd restarted the run's unit by itself.
func nRestarts(t *testing.T, name string) int {
	t.Helper()
	n, err := strconv.Atoi(prop(t, "runctl-"+name+".service", "NRestarts"))
	if err != nil {
		t.Fatalf("NRestarts of %s: %v", name, err)
	}
	return n
}

// A crash loop with --max-restarts none never gives up: systemd's start
// limit (5 starts in 10 s) would have left it failed after 5 restarts.
// With a bound it gives up after that many.
func TestCrashLoopNeverGivesUp(t *testing.T) {
	shared(t)
	name := runName(t)
	r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--restart", "always", "--max-restarts", "none",
		"--restart-delay", "50ms", "--restart-max-delay", "30s", "--", "sh", "-c", "exit 3")
	if r.code != 0 && r.code != 1 {
		t.Fatal(r)
	}
	// 50 ms apart, 9 restarts take half a second; the bound is for a busy
	// machine. The start limit would have failed it at 5.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && nRestarts(t, name) <= 8 {
		time.Sleep(100 * time.Millisecond)
	}
	state := prop(t, "runctl-"+name+".service", "ActiveState")
	if n := nRestarts(t, name); n <= 8 || state == "failed" {
		t.Fatalf("after 30 s of crashes: %d restarts, %s; want more than 8, never failed", n, state)
	}
	// Below systemd 254 (and while the version is unknown) the delay stays
	// --restart-delay: no RestartSteps= sent.
	if v := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "RestartUSec", "runctl-"+name+".service")); v != "50ms" {
		t.Errorf("RestartUSec = %q, want 50ms", v)
	}

	bounded := runName(t)
	runctl(t, "run", "-d", "--settle", "0", "-n", bounded, "--restart", "always", "--max-restarts", "2",
		"--restart-delay", "50ms", "--", "sh", "-c", "exit 3")
	waitFor(t, func() bool {
		return prop(t, "runctl-"+bounded+".service", "ActiveState") == "failed"
	}, bounded+" failed after 2 restarts")
	var list []struct {
		Name     string `json:"name"`
		Restarts int    `json:"restarts"`
		LimitHit bool   `json:"restart_limit_hit"`
	}
	r = runctl(t, "--json", "ls")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("ls --json: %v\n%v", err, r)
	}
	for _, l := range list {
		if l.Name == bounded && (l.Restarts != 2 || !l.LimitHit) {
			t.Errorf("%s: %+v, want 2 restarts and the limit hit", bounded, l)
		}
	}
}

// ls and status say that a run waits to restart, and when: the manager's
// time of the crash plus the restart delay.
func TestWaitingToRestartShown(t *testing.T) {
	shared(t)
	name := runName(t)
	before := time.Now()
	runctl(t, "run", "-d", "--settle", "0", "-n", name, "--restart", "always", "--restart-delay", "1h", "--", "sh", "-c", "exit 7")
	waitFor(t, func() bool {
		return prop(t, "runctl-"+name+".service", "SubState") == "auto-restart"
	}, name+" waiting to restart")
	if line := lsLine(t, name); !strings.Contains(line, "restarting in 59m") || !strings.Contains(line, "(exit status 7)") {
		t.Errorf("ls line %q: want restarting in 59m.. (exit status 7)", line)
	}
	r := runctl(t, "--json", "status", name)
	var st []struct {
		RestartAt *time.Time `json:"restart_at"`
		SubState  string     `json:"sub_state"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%v", err, r)
	}
	if at := st[0].RestartAt; at == nil || at.Before(before.Add(time.Hour-time.Minute)) || at.After(time.Now().Add(time.Hour)) {
		t.Errorf("status --json restart_at = %v, want about an hour from %s", at, before)
	}
	r = runctl(t, "status", name)
	if !strings.Contains(r.stdout, "waiting to restart at ") || !strings.Contains(r.stdout, "last exit status 7") {
		t.Errorf("status: want waiting to restart at ..., last exit status 7\n%v", r)
	}
}
