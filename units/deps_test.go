package units

import (
	"slices"
	"strings"
	"testing"
)

// A name in --after or --wants with a unit type is a systemd unit, passed
// as it is; any other is a run, named by its unit.
func TestDeps(t *testing.T) {
	for _, tt := range []struct {
		dep, unit, err string
	}{
		{"nav", "runctl-nav.service", ""},
		{"nav.v2", "runctl-nav.v2.service", ""},
		{"network-online.target", "network-online.target", ""},
		{"time-sync.target", "time-sync.target", ""},
		{"dev-ttyUSB0.device", "dev-ttyUSB0.device", ""},
		{"sys-subsystem-net-devices-wlan0.device", "sys-subsystem-net-devices-wlan0.device", ""},
		{`mnt-robot\x2ddata.mount`, `mnt-robot\x2ddata.mount`, ""},
		{"getty@tty1.service", "getty@tty1.service", ""},
		{"runctl-db.service", "runctl-db.service", ""},
		{".target", "", "invalid run name"},
		{"getty@.service", "", "names a template"},
		{"a b.target", "", `" " is not allowed`},
		{"@x.service", "", `starts with "@"`},
		{strings.Repeat("a", 300) + ".mount", "", "at most 255"},
		{"-x", "", "invalid run name"},
	} {
		err := validateDep("--after", tt.dep)
		if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("validateDep(%q) = %v, want %q", tt.dep, err, tt.err)
		}
		if tt.err == "" && depUnit(tt.dep) != tt.unit {
			t.Errorf("depUnit(%q) = %q, want %q", tt.dep, depUnit(tt.dep), tt.unit)
		}
	}
	s := &Spec{After: []string{"nav", "network-online.target"}, Wants: []string{"time-sync.target", "nav"}}
	if got, want := s.afterUnits(), []string{"runctl-nav.service", "network-online.target"}; !slices.Equal(got, want) {
		t.Errorf("afterUnits = %q, want %q", got, want)
	}
	if got, want := s.wantsUnits(), []string{"runctl-nav.service", "network-online.target", "time-sync.target"}; !slices.Equal(got, want) {
		t.Errorf("wantsUnits = %q, want %q", got, want)
	}
	// A systemd unit orders no run: no cycle through it.
	if err := AfterCycle(&Spec{Name: "a", After: []string{"a.target"}}, func(string) []string { return []string{"a"} }); err != nil {
		t.Errorf("AfterCycle through a systemd unit: %v", err)
	}
}
