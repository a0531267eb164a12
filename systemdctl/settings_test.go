package systemdctl

import (
	"context"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/units"
)

// settingCases hold every entry of units.Settings with values of each
// syntax it takes; each case is one unit, so settings that exclude each
// other (scheduling policies) are in separate cases.
var settingCases = [][]string{
	{
		"MemoryMax=64M", "MemoryHigh=48M", "CPUQuota=50%", "CPUWeight=200", "AllowedCPUs=0",
		"TasksMax=64", "IOWeight=300", "Nice=5", "CPUAffinity=0", "UMask=0027",
		"OOMScoreAdjust=100", "LimitNOFILE=4096", "LimitCORE=infinity", "LimitRTPRIO=10:20",
		"LimitMEMLOCK=64K:128K", "KillSignal=SIGINT", "TimeoutStopSec=1min 30s",
		"TimeoutStartSec=infinity", "SupplementaryGroups=daemon", "DeviceAllow=/dev/null rw",
		"DeviceAllow=char-pts rwm", "IOSchedulingClass=best-effort", "IOSchedulingPriority=2",
		"CPUSchedulingResetOnFork=yes",
	},
	{
		"CPUSchedulingPolicy=fifo", "CPUSchedulingPriority=50", "MemoryMax=infinity",
		"TasksMax=infinity", "CPUQuota=12%", "AllowedCPUs=0-1", "CPUAffinity=0,1",
		"LimitNOFILE=infinity", "KillSignal=2", "TimeoutStopSec=500ms", "TimeoutStartSec=0",
		"UMask=7", "Nice=-20", "OOMScoreAdjust=-1000", "CPUSchedulingResetOnFork=off",
		"IOSchedulingClass=idle", "SupplementaryGroups=daemon adm 0",
		"LimitCORE=1G", "MemoryHigh=1G", "LimitRTPRIO=infinity", "DeviceAllow=/dev/zero",
		"CPUWeight=1", "IOWeight=10000",
	},
	{
		"CPUSchedulingPolicy=rr", "CPUSchedulingPriority=1", "Nice=19", "IOSchedulingClass=realtime",
		"IOSchedulingPriority=0", "TimeoutStopSec=2.5s", "TimeoutStartSec=1.25min", "MemoryMax=1T",
		"CPUQuota=250%", "KillSignal=INT", "LimitMEMLOCK=infinity", "LimitNOFILE=1024:4096",
		"UMask=0777", "CPUAffinity=0 1", "DeviceAllow=block-loop r", "CPUSchedulingResetOnFork=1",
		"LimitCORE=0", "MemoryHigh=infinity", "TasksMax=3", "OOMScoreAdjust=1000",
	},
	{"CPUSchedulingPolicy=idle", "KillSignal=HUP", "TimeoutStopSec=90", "TimeoutStartSec=1h 2min 3s 4ms", "CPUQuota=1%"},
	{"CPUSchedulingPolicy=batch", "KillSignal=SIGUSR2", "TimeoutStopSec=1.123s", "TimeoutStartSec=2w 3d"},
	{"CPUSchedulingPolicy=other", "CPUSchedulingPriority=0", "KillSignal=15", "TimeoutStopSec=7 min", "TimeoutStartSec=10s", "CPUQuota=100%"},
}

// TestSettingsMatchUnitFile proves the table against systemd: for every
// entry, a transient unit started from units.Properties and the unit file
// RenderUnitFile writes (the same KEY=VALUE line, as typed) show the same
// values, on D-Bus and in systemctl show, and the transient unit keeps them
// across a daemon-reload (the manager rewrites it from its own record).
func TestSettingsMatchUnitFile(t *testing.T) {
	m := connect(t)
	covered := map[string]bool{}
	for _, kvs := range settingCases {
		for _, kv := range kvs {
			k, _, _ := strings.Cut(kv, "=")
			covered[k] = true
		}
	}
	for _, s := range units.Settings {
		if !covered[s.Key] {
			t.Errorf("no case sets %s", s.Key)
		}
	}
	for _, kvs := range settingCases {
		t.Run(strings.Join(kvs, ","), func(t *testing.T) { checkSettings(t, m, kvs) })
	}
}

func checkSettings(t *testing.T, m *Manager, kvs []string) {
	ctx := t.Context()
	s := testSpec()
	s.Properties = kvs
	fileUnit := units.UnitName(s.Name)
	transUnit := units.UnitName(s.Name + "-t")
	unitFile := "/etc/systemd/system/" + fileUnit
	data, err := units.RenderUnitFile(s, "", units.ExitRecorder{}, "system", 0)
	if err != nil {
		t.Fatalf("RenderUnitFile: %v", err)
	}
	for _, kv := range kvs {
		if !strings.Contains(string(data), "\n"+kv+"\n") {
			t.Errorf("the unit file lacks the line %q as typed:\n%s", kv, data)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		m.Kill(ctx, transUnit, unix.SIGKILL)
		m.enqueue(ctx, "StopUnit", transUnit, "replace")
		m.ResetFailed(ctx, transUnit)
		os.Remove(sb.Path(unitFile))
		daemonReload(t, ctx)
	})
	writeSandbox(t, unitFile, data, 0o644)
	daemonReload(t, ctx)
	verifyUnitFile(t, unitFile)
	fileProps := loadedProperties(t, m, fileUnit, data)
	if _, err := m.startTransient(ctx, transUnit, units.Properties(s, "", units.ExitRecorder{}, 0)); err != nil {
		t.Fatalf("start as transient unit: %v", err)
	}
	transProps := getAll(t, m, transUnit)

	// Every property the settings send, plus the defaults of the others:
	// a setting must not change anything it does not name.
	names := []string{"TimeoutStopUSec", "TimeoutStartUSec", "KillSignal"}
	base := map[string]bool{}
	for _, p := range units.Properties(&units.Spec{Name: "x", Argv: []string{"x"}, Path: "/x", Dir: "/", StopTimeout: 1}, "", units.ExitRecorder{}, 0) {
		base[p.Name] = true
	}
	for _, p := range units.Properties(s, "", units.ExitRecorder{}, 0) {
		if !base[p.Name] {
			names = append(names, p.Name)
		}
	}
	for _, st := range units.Settings {
		names = append(names, showName(st.Key))
	}
	slices.Sort(names)
	names = slices.Compact(names)
	for _, n := range names {
		f, tr := fileProps[n].Value(), transProps[n].Value()
		if f == nil || !reflect.DeepEqual(f, tr) {
			t.Errorf("%s on D-Bus: unit file %#v, transient %#v", n, f, tr)
		}
	}
	fileShow := show(t, fileUnit, names)
	transShow := show(t, transUnit, names)
	if fileShow != transShow {
		t.Errorf("systemctl show differs:\nunit file:\n%s\ntransient:\n%s", fileShow, transShow)
	}

	// The manager's own record of the transient unit, read back at a
	// reload, gives the same again.
	daemonReload(t, ctx)
	if again := show(t, transUnit, names); again != transShow {
		t.Errorf("after daemon-reload the transient unit shows\n%s\nbefore\n%s", again, transShow)
	}
	t.Logf("%s", transShow)
}

// showName is the name systemctl show uses for a unit file setting.
func showName(key string) string {
	switch key {
	case "CPUQuota":
		return "CPUQuotaPerSecUSec"
	case "TimeoutStopSec", "TimeoutStartSec":
		return strings.TrimSuffix(key, "Sec") + "USec"
	}
	return key
}

func show(t *testing.T, unit string, names []string) string {
	t.Helper()
	out, err := sb.Command(t.Context(), "systemctl", "show", "-p", strings.Join(names, ","), unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl show %s: %v\n%s", unit, err, out)
	}
	// The manager records DeviceAllow= in reverse, so a reload reverses
	// their order, which means nothing.
	lines := strings.Split(string(out), "\n")
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
