package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// SkipEnv, set to 1, lets a developer without root run the pure tests; the
// systemd tests then skip, loudly. CI never sets it, so there they run or fail.
const SkipEnv = "RUNCTL_SKIP_SYSTEMD"

// RunTests boots one sandbox for a test package, stores it in *sb, runs the
// tests and tears the sandbox down. A sandbox that cannot boot fails the
// package: systemd tests must not silently skip.
func RunTests(m *testing.M, sb **Sandbox, opts Options) int {
	if os.Getenv(SkipEnv) == "1" {
		fmt.Fprintf(os.Stderr, "%s=1: systemd integration tests will be skipped\n", SkipEnv)
		return m.Run()
	}
	s, err := Boot(context.Background(), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cannot boot the systemd sandbox the integration tests need: %v\n(run as root on a machine with systemd installed, or set %s=1 to run only the pure tests)\n", err, SkipEnv)
		return 1
	}
	*sb = s
	code := m.Run()
	if err := s.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Need skips t when the sandbox was deliberately not booted (SkipEnv).
func Need(t testing.TB, sb *Sandbox) {
	t.Helper()
	if sb == nil {
		t.Skipf("no systemd sandbox (%s=1)", SkipEnv)
	}
}

// RunInside runs test t again, by itself, inside sb with env=1 set: for
// tests that must run in the sandbox's namespaces (the manager's private
// socket refuses peers outside its pid namespace; journalctl reads the
// journal of its own machine). It returns true in that inner run, which
// does the test's work; the outer run fails if the inner one does.
func RunInside(t *testing.T, sb *Sandbox, env string) bool {
	t.Helper()
	if os.Getenv(env) != "" {
		return true
	}
	Need(t, sb)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	// The test binary is under the host's /tmp, which the sandbox does not see.
	in := "/run/" + filepath.Base(exe)
	if err := os.WriteFile(sb.Path(in), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := sb.Command(t.Context(), in, "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), env+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s inside the sandbox: %v\n%s", t.Name(), err, out)
	}
	return false
}
