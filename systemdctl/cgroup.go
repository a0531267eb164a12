package systemdctl

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Usage is what the kernel counts of a unit's control group: the numbers
// systemd's MemoryCurrent and CPUUsageNSec are made of.
type Usage struct {
	// MemoryBytes is what the cgroup's processes use now (max uint64
	// where the memory controller is not on for it).
	MemoryBytes uint64
	// CPUNSec is the CPU time of every process the cgroup ever had (max
	// uint64 where not counted).
	CPUNSec uint64
	// PID is the cgroup's only process (0: none, or several), and Started
	// when it was forked: a running service's main process and
	// ExecMainStartTimestamp, to within a clock tick, where it has no other.
	PID     uint32
	Started time.Time
}

// CgroupSlice is where, under the cgroup file system's root, the manager
// puts its transient services by default: system.slice, or the user
// manager's app.slice (systemd 247 and later).
func (s Scope) CgroupSlice() string {
	if s == User {
		uid := os.Getuid()
		return fmt.Sprintf("user.slice/user-%d.slice/user@%d.service/app.slice", uid, uid)
	}
	return "system.slice"
}

// cgroupFile is one way to read a number of a unit's cgroup: a file under
// a hierarchy, the line it is on (empty: the whole file), its scale to
// the unit of Usage.
type cgroupFile struct {
	hierarchy, file, key string
	scale                uint64
}

var (
	// cgroup2's cpu.stat is there with or without the cpu controller;
	// cgroup v1's cpuacct only where systemd turned it on (CPUAccounting=).
	cpuFiles = []cgroupFile{{"", "cpu.stat", "usage_usec ", 1000}, {"cpuacct", "cpuacct.usage", "", 1}}
	memFiles = []cgroupFile{{"", "memory.current", "", 1}, {"memory", "memory.usage_in_bytes", "", 1}}
)

// ReadUsage reads, from the cgroup file system mounted at root, the usage
// of each control group in slice whose name starts with prefix and ends in
// ".service", by unit name: as systemd reads it for MemoryCurrent and
// CPUUsageNSec, from the unified hierarchy (root, or root/unified on a
// hybrid machine) or cgroup v1's controllers. A unit without a control
// group there (not running, or in another slice), or with neither number
// counted, is absent. A unit's files
// cost a few microseconds, where a property Get costs PID 1 the same read
// and both sides a D-Bus message.
//
// With process, the cgroup's only process is read too (Usage.PID); without
// counts, the numbers are not (left max uint64).
func ReadUsage(root, slice, prefix string, process, counts bool) map[string]Usage {
	return readUsage(root, slice, process, counts, func(d *os.File) []string {
		names, err := d.Readdirnames(-1)
		if err != nil {
			return nil
		}
		return slices.DeleteFunc(names, func(name string) bool {
			return !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".service")
		})
	})
}

// ReadUnitsUsage is ReadUsage of the named units.
func ReadUnitsUsage(root, slice string, units []string) map[string]Usage {
	return readUsage(root, slice, false, true, func(*os.File) []string { return units })
}

// readUsage reads the usage of the units that names, given the slice's
// folder in the unified hierarchy, picks.
func readUsage(root, slice string, process, counts bool, units func(*os.File) []string) map[string]Usage {
	// The unified hierarchy (hybrid: root/unified; v1 only: name=systemd's)
	// has a cgroup for every unit.
	unified := root
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err != nil {
		unified = filepath.Join(root, "unified")
		if _, err := os.Stat(filepath.Join(unified, "cgroup.controllers")); err != nil {
			unified = filepath.Join(root, "systemd")
		}
	}
	d, err := os.Open(filepath.Join(unified, slice))
	if err != nil {
		return nil
	}
	defer d.Close()
	names := units(d)
	dirs := map[string]int{"": int(d.Fd())}
	for _, f := range append(cpuFiles, memFiles...) {
		if _, ok := dirs[f.hierarchy]; !ok {
			dirs[f.hierarchy] = -1
			if h, err := unix.Open(filepath.Join(root, f.hierarchy, slice), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0); err == nil {
				dirs[f.hierarchy] = h
				defer unix.Close(h)
			}
		}
	}
	var boot time.Time
	if process {
		boot = bootTime()
	}
	// Each run costs a few files of ~10 µs of kernel time each: a
	// thousand runs are read on every CPU, with as many threads running Go
	// code for the while (runctl keeps one otherwise).
	parts := min(runtime.NumCPU(), 1+len(names)/250)
	if prev := runtime.GOMAXPROCS(0); parts > prev {
		runtime.GOMAXPROCS(parts)
		defer runtime.GOMAXPROCS(prev)
	}
	found := make([][]Usage, parts)
	var wg sync.WaitGroup
	for k := range parts {
		wg.Go(func() {
			r := usageReader{dirs: dirs, boot: boot}
			found[k] = make([]Usage, 0, len(names)/parts+1)
			for i := k; i < len(names); i += parts {
				u := Usage{CPUNSec: ^uint64(0), MemoryBytes: ^uint64(0)}
				if counts {
					u.CPUNSec, u.MemoryBytes = r.read(names[i], cpuFiles, &r.cpuWay), r.read(names[i], memFiles, &r.memWay)
				}
				if process {
					u.PID, u.Started = r.onlyProcess(names[i])
				}
				found[k] = append(found[k], u)
			}
		})
	}
	wg.Wait()
	out := make(map[string]Usage, len(names))
	for i, name := range names {
		u := found[i%parts][i/parts]
		if u.CPUNSec != ^uint64(0) || u.MemoryBytes != ^uint64(0) || u.PID != 0 {
			out[name] = u
		}
	}
	return out
}

// bootTime is when the machine booted, by the clock that /proc's process
// start times count from (CLOCK_BOOTTIME), now.
func bootTime() time.Time {
	var ts unix.Timespec
	now := time.Now()
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) != nil {
		return time.Time{}
	}
	return now.Add(-time.Duration(ts.Nano()))
}

// onlyProcess is the pid of unit's cgroup's one process and when it was
// forked; 0 if the cgroup has none or several, or the process is gone.
func (r *usageReader) onlyProcess(unit string) (uint32, time.Time) {
	if r.boot.IsZero() {
		return 0, time.Time{}
	}
	text, ok := r.readFile(r.dirs[""], unit+"/cgroup.procs")
	pid, err := strconv.ParseUint(strings.TrimSuffix(text, "\n"), 10, 32)
	if !ok || err != nil || pid == 0 {
		return 0, time.Time{}
	}
	// proc(5): starttime, field 22, in clock ticks (USER_HZ, 100 on
	// Linux) since boot; fields from the third follow the last ')'.
	text, ok = r.readFile(unix.AT_FDCWD, "/proc/"+strconv.FormatUint(pid, 10)+"/stat")
	i := strings.LastIndexByte(text, ')')
	if !ok || i < 0 {
		return 0, time.Time{}
	}
	f := strings.Fields(text[i+1:])
	if len(f) < 20 {
		return 0, time.Time{}
	}
	ticks, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, time.Time{}
	}
	return uint32(pid), r.boot.Add(time.Duration(ticks) * (time.Second / 100))
}

// usageReader reads units' numbers, trying first the way that worked
// for the unit before.
type usageReader struct {
	dirs           map[string]int
	cpuWay, memWay int
	boot           time.Time // bootTime, when processes are read
	buf            [512]byte
}

// read is a unit's number by the first of ways that works, max uint64 if
// none does.
func (r *usageReader) read(unit string, ways []cgroupFile, last *int) uint64 {
	for k := range ways {
		i := (*last + k) % len(ways)
		if v, ok := r.readOne(unit, ways[i]); ok {
			*last = i
			return v
		}
	}
	return ^uint64(0)
}

func (r *usageReader) readOne(unit string, f cgroupFile) (uint64, bool) {
	text, ok := r.readFile(r.dirs[f.hierarchy], unit+"/"+f.file)
	if !ok {
		return 0, false
	}
	if f.key != "" {
		i := strings.Index(text, f.key)
		if i < 0 || i > 0 && text[i-1] != '\n' {
			return 0, false
		}
		text = text[i+len(f.key):]
	}
	line, _, _ := strings.Cut(text, "\n")
	v, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
	if err != nil {
		return 0, false
	}
	return v * f.scale, true
}

// readFile reads up to a buffer of path, relative to the folder dir (-1:
// none), in three system calls, where os.ReadFile makes five and would
// register the file, which can be polled, with the runtime's poller.
func (r *usageReader) readFile(dir int, path string) (string, bool) {
	if dir == -1 {
		return "", false
	}
	fd, err := unix.Openat(dir, path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", false
	}
	n, err := unix.Read(fd, r.buf[:])
	unix.Close(fd)
	if err != nil || n <= 0 {
		return "", false
	}
	return string(r.buf[:n]), true
}
