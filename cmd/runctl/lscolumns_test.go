package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ls shows a running run's CPU time and memory, as its control group
// counts them, in the table and in --json; a stopped run has none ("-",
// null). A run whose control group has one process gets that process as
// its PID and UPTIME without a property read; one with several gets
// systemd's main pid: both as systemd says.
func TestLsShowsCPUAndMemory(t *testing.T) {
	shared(t)
	busy, stopped, single := runName(t), runName(t), runName(t)
	// 16 MiB held in a shell variable, made by a pipeline that burns CPU
	// (its processes are gone, their CPU time stays the cgroup's).
	hold := `x=$(head -c 16777216 /dev/zero | tr '\0' a); sleep 1000; echo "${#x}"`
	if r := runctl(t, "run", "-d", "-n", busy, "--", "sh", "-c", hold); r.code != 0 {
		t.Fatal(r)
	}
	for _, name := range []string{stopped, single} {
		if r := runctl(t, "run", "-d", "-n", name, "--", "sleep", "1000"); r.code != 0 {
			t.Fatal(r)
		}
	}
	if r := runctl(t, "stop", stopped); r.code != 0 {
		t.Fatal(r)
	}
	type listed struct {
		Name        string   `json:"name"`
		MemoryBytes *uint64  `json:"memory_bytes"`
		CPUSec      *float64 `json:"cpu_sec"`
	}
	var got map[string]listed
	var raw string
	waitFor(t, func() bool {
		r := runctl(t, "ls", "--json")
		var list []listed
		if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
			t.Fatalf("ls --json: %v\n%v", err, r)
		}
		got, raw = map[string]listed{}, r.stdout
		if !strings.Contains(raw, `"memory_bytes"`) {
			t.Fatalf("ls --json has no memory_bytes:\n%s", raw)
		}
		for _, l := range list {
			got[l.Name] = l
		}
		b := got[busy]
		return b.MemoryBytes != nil && *b.MemoryBytes >= 16<<20
	}, "ls --json to show the 16 MiB the run holds")
	if b := got[busy]; b.CPUSec == nil || *b.CPUSec <= 0 {
		t.Errorf("ls --json cpu_sec of a run that burnt CPU = %v, want > 0\n%s", b.CPUSec, raw)
	}
	if s, ok := got[stopped]; !ok || s.MemoryBytes != nil || s.CPUSec != nil {
		t.Errorf("ls --json of a stopped run: %+v, want memory_bytes and cpu_sec null\n%s", s, raw)
	}
	if !strings.Contains(raw, `"memory_bytes": null`) {
		t.Errorf("ls --json leaves out a stopped run's memory_bytes, want null:\n%s", raw)
	}

	// status counts the same way, also where systemd counts no CPU (this
	// sandbox: no cpu controller), so it never shows less than ls did.
	var st []struct {
		CPUSec  *float64 `json:"cpu_sec"`
		CPUFrom string   `json:"cpu_from"`
	}
	r := runctl(t, "--json", "status", busy)
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st) != 1 {
		t.Fatalf("status --json: %v\n%v", err, r)
	}
	if b := got[busy]; st[0].CPUFrom != "cgroup" || st[0].CPUSec == nil || b.CPUSec != nil && *st[0].CPUSec < *b.CPUSec {
		t.Errorf("status --json cpu_sec %v from %q, want the cgroup's, at least ls's %v", value(st[0].CPUSec), st[0].CPUFrom, value(b.CPUSec))
	}

	r = runctl(t, "ls")
	if r.code != 0 {
		t.Fatal(r)
	}
	cells := lsCells(t, r.stdout, "PID", "UPTIME", "CPU", "MEM")
	if c := cells[busy]; len(c) != 4 || c[2] == "-" || c[2] == "0.00s" || !strings.HasSuffix(c[3], "M") {
		t.Errorf("ls CPU, MEM of the busy run = %q, want a CPU time above 0 and megabytes\n%s", c, r.stdout)
	}
	if c := cells[stopped]; len(c) != 4 || c[2] != "-" || c[3] != "-" {
		t.Errorf("ls CPU, MEM of a stopped run = %q, want - and -\n%s", c, r.stdout)
	}
	// busy has two processes (sh, sleep), single one.
	for _, name := range []string{busy, single} {
		c := cells[name]
		if want := strconv.Itoa(mainPID(t, name)); len(c) != 4 || c[0] != want {
			t.Errorf("ls PID of %s = %q, want systemd's MainPID %s\n%s", name, c, want, r.stdout)
			continue
		}
		start, err := strconv.ParseInt(prop(t, "runctl-"+name+".service", "ExecMainStartTimestamp"), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		up, err := time.ParseDuration(c[1])
		want := time.Since(time.UnixMicro(start))
		if err != nil || up < want-2*time.Second || up > want+2*time.Second {
			t.Errorf("ls UPTIME of %s = %q, want about %v (systemd's ExecMainStartTimestamp)\n%s", name, c[1], want.Round(time.Second), r.stdout)
		}
	}
}

// lsCells reads the named columns of ls's table, by run name: each cell
// starts where its heading does.
func lsCells(t *testing.T, table string, columns ...string) map[string][]string {
	t.Helper()
	lines := strings.Split(table, "\n")
	var at []int
	for _, c := range columns {
		i := strings.Index(lines[0], " "+c+" ")
		if i < 0 {
			t.Fatalf("ls has no %s column:\n%s", c, table)
		}
		at = append(at, i+1)
	}
	cells := map[string][]string{}
	for _, l := range lines[1:] {
		name, _, _ := strings.Cut(l, " ")
		for _, i := range at {
			if i < len(l) {
				f, _, _ := strings.Cut(l[i:], " ")
				cells[name] = append(cells[name], f)
			}
		}
	}
	return cells
}

// value is what p points to, nil if nothing.
func value[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}
