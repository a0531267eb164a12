package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// A run's CPU time is counted (CPUAccounting=yes), so status --json has
// it even where the manager's default leaves accounting off; where the
// manager cannot count at all (this sandbox has no cpu controller), it is
// read from the run's cgroup (else its processes'), and says so.
func TestStatusCPUNeverNull(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; exec sleep 1000"); r.code != 0 {
		t.Fatal(r)
	}
	if r := runctl(t, "status", name); r.code != 0 {
		t.Fatal(r)
	}
	if v := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "CPUAccounting", "runctl-"+name+".service")); v != "yes" {
		t.Errorf("CPUAccounting = %q, want yes", v)
	}
	r := runctl(t, "--json", "status", name)
	var st []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%v", err, r)
	}
	waitFor(t, func() bool {
		return strings.Contains(inside(t, "ps", "-o", "comm=", "-p", prop(t, "runctl-"+name+".service", "MainPID")), "sleep")
	}, "the busy loop's end")
	r = runctl(t, "--json", "status", name)
	st = nil
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%v", err, r)
	}
	if cpu, ok := st[0]["cpu_sec"].(float64); !ok || cpu <= 0 || st[0]["cpu_from"] == nil {
		t.Errorf("status --json cpu_sec = %v (from %v), want a positive number and its source\n%v", st[0]["cpu_sec"], st[0]["cpu_from"], r)
	}
}
