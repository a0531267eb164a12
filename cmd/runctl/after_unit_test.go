package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runctl/runctl/sandbox"
)

// A run enabled with --after network-online.target starts at boot only
// once the target is reached; one enabled with --wants pulls the target in
// without waiting for it. A unit of the test holds the target back for a
// second, as a slow DHCP lease would.
func TestAfterSystemdUnitAtBoot(t *testing.T) {
	shared(t)
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result { t.Helper(); return inEnv(s, nil, args...) }

	s := boot()
	hold := "[Unit]\nDescription=holds network-online.target back\nBefore=network-online.target\n" +
		"[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sleep 1\n" +
		"[Install]\nWantedBy=network-online.target\n"
	if err := os.WriteFile(s.Path("/etc/systemd/system/hold-net.service"), []byte(hold), 0o644); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if out, err := s.Command(t.Context(), "systemctl", "enable", "hold-net.service").CombinedOutput(); err != nil {
		s.Close()
		t.Fatalf("enable hold-net.service: %v\n%s", err, out)
	}
	for _, r := range []result{
		in(s, "run", "-d", "--enable", "-n", "online", "--after", "network-online.target", "--", "sleep", "1000"),
		in(s, "run", "-d", "--enable", "-n", "early", "--wants", "network-online.target", "--", "sleep", "1000"),
	} {
		if r.code != 0 {
			s.Close()
			t.Fatalf("run --enable: %v", r)
		}
	}
	unit, _ := os.ReadFile(s.Path("/etc/systemd/system/runctl-online.service"))
	if !strings.Contains(string(unit), "\nAfter=network-online.target\n") || !strings.Contains(string(unit), "\nWants=network-online.target\n") {
		s.Close()
		t.Fatalf("the unit file of a run --after network-online.target:\n%s", unit)
	}
	if st := in(s, "status", "online"); !strings.Contains(st.stdout, "network-online.target") {
		s.Close()
		t.Fatalf("status does not say what the run starts after:\n%v", st)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	mono := func(unit, prop string) int64 {
		t.Helper()
		out, err := s.Command(t.Context(), "systemctl", "show", "-P", prop, unit).Output()
		n, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
		if err != nil || n == 0 {
			st, _ := s.Command(t.Context(), "systemctl", "status", "--no-pager", unit).CombinedOutput()
			t.Fatalf("%s of %s: %q %v\n%s", prop, unit, out, err, st)
		}
		return n
	}
	online := mono("network-online.target", "ActiveEnterTimestampMonotonic")
	after := mono("runctl-online.service", "ExecMainStartTimestampMonotonic")
	early := mono("runctl-early.service", "ExecMainStartTimestampMonotonic")
	t.Logf("network-online.target reached at %d µs, run --after started at %d, run --wants at %d", online, after, early)
	if after < online {
		t.Errorf("the run --after network-online.target started %d µs before the target was reached", online-after)
	}
	if early > online {
		t.Errorf("the run --wants network-online.target waited for it (started %d µs after it), want no order", early-online)
	}
	if _, err := os.Lstat(filepath.Join(s.Path("/etc/systemd/system/network-online.target.wants"), "hold-net.service")); err != nil {
		t.Errorf("the holding unit is not wanted by the target: %v", err)
	}
}
