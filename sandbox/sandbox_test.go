package sandbox

import (
	"os"
	"strings"
	"testing"
)

var sb *Sandbox

func TestMain(m *testing.M) { os.Exit(RunTests(m, &sb, Options{})) }

func TestBootIsolated(t *testing.T) {
	Need(t, sb)
	out, err := sb.Command(t.Context(), "systemctl", "is-system-running").Output()
	if got := strings.TrimSpace(string(out)); err != nil || (got != "running" && got != "degraded") {
		t.Fatalf("is-system-running = %q, %v; want running", got, err)
	}
	// The sandbox's /tmp is its own: a file written there is not on the host.
	if err := sb.Command(t.Context(), "touch", "/tmp/runctl-sandbox-probe").Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/tmp/runctl-sandbox-probe"); err == nil {
		os.Remove("/tmp/runctl-sandbox-probe")
		t.Fatal("a file written to the sandbox's /tmp appeared on the host")
	}
	// PID 1 inside is systemd.
	comm, err := os.ReadFile(sb.Path("/proc/1/comm"))
	if err != nil || strings.TrimSpace(string(comm)) != "systemd" {
		t.Fatalf("PID 1 inside is %q (%v), want systemd", comm, err)
	}
}
