package main

import (
	"strings"
	"testing"
)

// TestFullRunRefusesTheReplaceBeforeTheStop: with no room left in /run,
// where the drop-in that keeps a run's command exact goes, run --replace
// is refused while the old instance still runs, instead of starting a run
// whose command a daemon-reload would alter.
func TestFullRunRefusesTheReplaceBeforeTheStop(t *testing.T) {
	alone(t)
	name := runName(t)
	t.Cleanup(func() { runctl(t, "rm", "-f", name) })
	if r := runctl(t, "run", "-d", "--settle", "0", "-n", name, "--", "sleep", "4001"); r.code != 0 {
		t.Fatalf("run -d: %v", r)
	}
	pid := mainPID(t, name)
	// /run shrunk to what it holds, plus a little, which is then filled.
	inside(t, "sh", "-c", `mount -o remount,size=$(( $(df -k --output=used /run | tail -1) + 256 ))k /run && { dd if=/dev/zero of=/run/fill bs=4k 2>/dev/null; true; }`)
	unfill := func() {
		sbOf(t).Command(t.Context(), "sh", "-c", "rm -f /run/fill; mount -o remount,size=50% /run").Run()
	}
	t.Cleanup(unfill)
	r := runctl(t, "run", "-d", "--settle", "0", "--replace", "-n", name, "--", "sleep", "4002")
	unfill()
	if r.code == 0 || !strings.Contains(r.stderr, "no space") {
		t.Fatalf("run --replace with /run full: %v; want it refused, saying there is no space", r)
	}
	if now := mainPID(t, name); now != pid {
		t.Fatalf("run --replace with /run full stopped the old instance (pid %d, now %d)", pid, now)
	}
}
