package systemdctl

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// ReadUsage finds the numbers where each cgroup layout keeps them: the
// unified hierarchy at the root or at root/unified (hybrid), and cgroup
// v1's controllers. The kernel's own files are tried against the real
// manager in cmd/runctl (TestLsShowsCPUAndMemory).
func TestReadUsageLayouts(t *testing.T) {
	const max = ^uint64(0)
	write := func(root, path, content string) {
		t.Helper()
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const cpuStat = "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n"
	for _, c := range []struct {
		name  string
		files map[string]string
		want  map[string]Usage
	}{
		{"unified", map[string]string{
			"cgroup.controllers":                           "cpu memory",
			"system.slice/runctl-a.service/cpu.stat":       cpuStat,
			"system.slice/runctl-a.service/memory.current": "4096\n",
			"system.slice/runctl-b.service/cpu.stat":       "usage_usec 7\n", // no memory controller
			"system.slice/other.service/cpu.stat":          cpuStat,
			"system.slice/runctl-c.scope/cpu.stat":         cpuStat,
		}, map[string]Usage{"runctl-a.service": {MemoryBytes: 4096, CPUNSec: 1500000}, "runctl-b.service": {MemoryBytes: max, CPUNSec: 7000}}},
		{"hybrid", map[string]string{
			"unified/cgroup.controllers":                                 "",
			"unified/system.slice/runctl-a.service/cpu.stat":             cpuStat,
			"memory/system.slice/runctl-a.service/memory.usage_in_bytes": "8192\n",
			"unified/system.slice/runctl-b.service/cpu.stat":             cpuStat,
		}, map[string]Usage{"runctl-a.service": {MemoryBytes: 8192, CPUNSec: 1500000}, "runctl-b.service": {MemoryBytes: max, CPUNSec: 1500000}}},
		{"v1", map[string]string{
			"systemd/system.slice/runctl-a.service/cgroup.procs":         "1\n",
			"cpuacct/system.slice/runctl-a.service/cpuacct.usage":        "123456789\n",
			"memory/system.slice/runctl-a.service/memory.usage_in_bytes": "100\n",
			"systemd/system.slice/runctl-b.service/cgroup.procs":         "2\n",
		}, map[string]Usage{"runctl-a.service": {MemoryBytes: 100, CPUNSec: 123456789}}}, // b: nothing counted
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range c.files {
				write(root, p, content)
			}
			got := ReadUsage(root, "system.slice", "runctl-", false, true)
			if len(got) != len(c.want) {
				t.Errorf("ReadUsage = %v, want %v", got, c.want)
			}
			for u, w := range c.want {
				if got[u] != w {
					t.Errorf("%s: %+v, want %+v", u, got[u], w)
				}
			}
		})
	}
	if got := ReadUsage(t.TempDir(), "system.slice", "runctl-", true, true); len(got) != 0 {
		t.Errorf("ReadUsage of no cgroups = %v, want none", got)
	}
}

// A cgroup with one process gives that process and when it started, read
// from /proc (a sleep this test starts); one with several gives none.
func TestReadUsageOnlyProcess(t *testing.T) {
	root := t.TempDir()
	before := time.Now()
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	t.Cleanup(func() { sleep.Process.Kill(); sleep.Wait() })
	self := sleep.Process.Pid
	for unit, procs := range map[string]string{
		"runctl-one.service":  fmt.Sprintf("%d\n", self),
		"runctl-two.service":  fmt.Sprintf("%d\n%d\n", self, os.Getppid()),
		"runctl-gone.service": "",
	} {
		dir := filepath.Join(root, "system.slice", unit)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(procs), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "cgroup.controllers"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadUsage(root, "system.slice", "runctl-", true, false)
	one := got["runctl-one.service"]
	if one.PID != uint32(self) || one.CPUNSec != ^uint64(0) || one.MemoryBytes != ^uint64(0) {
		t.Errorf("one process: %+v, want pid %d and no counts", one, self)
	}
	// To within a clock tick (10 ms), and the clocks' reading apart.
	const slack = 20 * time.Millisecond
	if one.Started.Before(before.Add(-slack)) || one.Started.After(after.Add(slack)) {
		t.Errorf("one process started at %v, want between %v and %v", one.Started, before, after)
	}
	if len(got) != 1 {
		t.Errorf("ReadUsage = %+v, want only runctl-one.service", got)
	}
}
