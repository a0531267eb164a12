package main

import (
	"strings"
	"testing"
)

// status shows the limits asked with -p as the running program has them
// (/proc/PID/limits, oom_score_adj), and says when the kernel granted less:
// a user manager cannot raise a hard limit or lower the OOM score
// adjustment, and systemd clamps them without a word.
//
// Root's run asks what any process may do (lower a limit, raise its
// adjustment): granted whatever the machine's capabilities. (This
// machine's root lacks CAP_SYS_RESOURCE: even root's OOMScoreAdjust=-5 is
// left at 0 here.)
func TestStatusShowsLimitsInForce(t *testing.T) {
	shared(t)
	name := runName(t)
	if r := runctl(t, "run", "-d", "-n", name, "-p", "LimitNOFILE=1000:2000", "-p", "OOMScoreAdjust=5", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	r := runctl(t, "status", name)
	if !strings.Contains(r.stdout, "Limits: LimitNOFILE=1000:2000, OOMScoreAdjust=5\n") {
		t.Errorf("status of a root run with limits:\n%v", r)
	}

	_, env := userManager(t, "robolim")
	if r := asUser(t, "robolim", env, "run", "-d", "-n", "lim", "-p", "LimitRTPRIO=50", "-p", "OOMScoreAdjust=-5", "-p", "LimitNOFILE=512", "--", "sleep", "1000"); r.code != 0 {
		t.Fatalf("run as a user: %v", r)
	}
	r = asUser(t, "robolim", env, "status", "lim")
	for _, want := range []string{"LimitRTPRIO=0 (asked 50: the kernel granted less)", "(asked -5: the kernel granted less)", "LimitNOFILE=512"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status of a user's run lacks %q:\n%v", want, r)
		}
	}
}
