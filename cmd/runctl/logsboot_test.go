package main

import (
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

// logs -b -1 shows the lines a run wrote in the boot before this one, and
// none of this boot's; -b 0 the other way round. The sandbox reboots over
// its kept disk (a persistent journal), each boot with its own boot id.
func TestLogsOfThePreviousBoot(t *testing.T) {
	shared(t)
	boot, inEnv := rebootable(t)
	in := func(s *sandbox.Sandbox, args ...string) result { t.Helper(); return inEnv(s, nil, args...) }
	line := func(s *sandbox.Sandbox) string {
		t.Helper()
		id, err := s.BootID()
		if err != nil {
			s.Close()
			t.Fatal(err)
		}
		return "hello from boot " + id
	}
	waitLine := func(s *sandbox.Sandbox, want string, args ...string) {
		t.Helper()
		var r result
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if r = in(s, args...); strings.Contains(r.stdout, want) {
				return
			}
		}
		s.Close()
		t.Fatalf("runctl %q does not show %q: %v", args, want, r)
	}
	s := boot()
	if r := in(s, "run", "-d", "--enable", "-n", "talk", "--", "sh", "-c", `echo "hello from boot $(cat /proc/sys/kernel/random/boot_id)"; exec sleep 1000`); r.code != 0 {
		s.Close()
		t.Fatalf("run --enable: %v", r)
	}
	first := line(s)
	waitLine(s, first, "logs", "talk")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = boot()
	defer s.Close()
	second := line(s)
	if second == first {
		t.Fatalf("both boots have the same boot id: %s", first)
	}
	waitLine(s, second, "logs", "-b", "0", "talk")
	prev := in(s, "logs", "-b", "-1", "talk")
	if prev.code != 0 || !strings.Contains(prev.stdout, first) || strings.Contains(prev.stdout, second) {
		t.Errorf("logs -b -1 after a reboot: %v\nwant %q and not %q", prev, first, second)
	}
	if cur := in(s, "logs", "-b", "0", "talk"); strings.Contains(cur.stdout, first) {
		t.Errorf("logs -b 0 after a reboot shows the previous boot's line:\n%v", cur)
	}
}
