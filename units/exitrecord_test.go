package units

import (
	"strings"
	"testing"
)

func TestExitRecord(t *testing.T) {
	for _, tc := range []struct {
		target, want string
	}{
		{"exit-code exited 3", "exit status 3"},
		{"success exited 0", "exit status 0"},
		{"signal killed KILL", "killed by SIGKILL"},
		{"core-dump dumped SEGV", "killed by SIGSEGV (core dumped)"},
		{"oom-kill killed KILL", "killed by SIGKILL (oom-kill)"},
		{"timeout killed KILL", "killed by SIGKILL (timeout)"},
		{"resources  ", "did not start (resources)"},
		{"success killed TERM runctl", "stopped by runctl"},
	} {
		rec, ok := ParseExitRecord(tc.target)
		if !ok || rec.String() != tc.want || rec.Target() != tc.target {
			t.Errorf("ParseExitRecord(%q) = %+v, %v: says %q, target %q; want %q", tc.target, rec, ok, rec.String(), rec.Target(), tc.want)
		}
	}
	for _, bad := range []string{"", "x", "a b", "a b c d", "a b c d e", " exited 3"} {
		if rec, ok := ParseExitRecord(bad); ok {
			t.Errorf("ParseExitRecord(%q) = %+v, want refused", bad, rec)
		}
	}
}

// The recorder is in the unit file as over D-Bus: privileged, its failure
// ignored, the manager's variables expanded, a $ in the path kept.
func TestRenderUnitFileExitRecorder(t *testing.T) {
	s := validSpec()
	got, err := RenderUnitFile(s, "", "/var/lib/runctl/runs/a$b.exit", "system")
	if err != nil {
		t.Fatal(err)
	}
	want := `ExecStopPost=-+@/bin/ln "/bin/ln" "-sfn" "${SERVICE_RESULT} ${EXIT_CODE} ${EXIT_STATUS}" "/var/lib/runctl/runs/a$$b.exit"` + "\n"
	if !strings.Contains(string(got), want) {
		t.Errorf("RenderUnitFile lacks\n%s in\n%s", want, got)
	}
}

// The drop-in resets ExecStopPost once and restates every one, so the
// journal sync of a --no-log-limit run stays beside the recorder.
func TestRenderDropInExitRecorder(t *testing.T) {
	s := validSpec()
	s.NoLogLimit = true
	got, err := RenderDropIn(s, "", "/var/lib/runctl/runs/nav.exit")
	if err != nil {
		t.Fatal(err)
	}
	want := "ExecStopPost=\nExecStopPost=-@:/bin/sh \"sh\" \"-c\" \"exec journalctl --sync 2>/dev/null\"\nExecStopPost=-+@/bin/ln \"/bin/ln\" \"-sfn\" \"${SERVICE_RESULT} ${EXIT_CODE} ${EXIT_STATUS}\" \"/var/lib/runctl/runs/nav.exit\"\n"
	if !strings.Contains(string(got), want) {
		t.Errorf("RenderDropIn lacks\n%s in\n%s", want, got)
	}
}
