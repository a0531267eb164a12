package systemdctl

import (
	"os"
	"path/filepath"
	"testing"
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
		}, map[string]Usage{"runctl-a.service": {4096, 1500000}, "runctl-b.service": {max, 7000}}},
		{"hybrid", map[string]string{
			"unified/cgroup.controllers":                                 "",
			"unified/system.slice/runctl-a.service/cpu.stat":             cpuStat,
			"memory/system.slice/runctl-a.service/memory.usage_in_bytes": "8192\n",
			"unified/system.slice/runctl-b.service/cpu.stat":             cpuStat,
		}, map[string]Usage{"runctl-a.service": {8192, 1500000}, "runctl-b.service": {max, 1500000}}},
		{"v1", map[string]string{
			"systemd/system.slice/runctl-a.service/cgroup.procs":         "1\n",
			"cpuacct/system.slice/runctl-a.service/cpuacct.usage":        "123456789\n",
			"memory/system.slice/runctl-a.service/memory.usage_in_bytes": "100\n",
			"systemd/system.slice/runctl-b.service/cgroup.procs":         "2\n",
		}, map[string]Usage{"runctl-a.service": {100, 123456789}}}, // b: nothing counted
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range c.files {
				write(root, p, content)
			}
			got := ReadUsage(root, "system.slice", "runctl-")
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
	if got := ReadUsage(t.TempDir(), "system.slice", "runctl-"); len(got) != 0 {
		t.Errorf("ReadUsage of no cgroups = %v, want none", got)
	}
}
