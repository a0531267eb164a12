package fleet_test

import (
	"context"
	"strings"
	"testing"
	"time"
)

// A robot whose link goes down while runctl keeps a connection to it is
// reported unreachable within about the connect timeout: the kept
// connection's death is noticed (ssh keepalives every second), not waited
// out (it was 24 s with keepalives every 5 s, 3 missed).
func TestDeadLinkReportedSoon(t *testing.T) {
	if r := runctl(t, "-H", "robot-3", "ls"); r.code != 0 { // a kept connection
		t.Fatalf("ls: %v", r)
	}
	if err := fl.LinkDown(t.Context(), 2); err != nil {
		t.Fatal(err)
	}
	defer fl.LinkUp(context.Background(), 2)
	begin := time.Now()
	r := runctl(t, "-H", "robot-1,robot-3", "--json", "ls")
	took := time.Since(begin)
	recs := records(t, r)
	if recs["robot-1"].Outcome != "ok" || recs["robot-3"].Outcome != "unreachable" {
		t.Fatalf("ls with robot-3's link down: %v", r)
	}
	t.Logf("robot-3 reported unreachable after %v", took.Round(time.Millisecond))
	// The bound tells the two apart on a busy machine (24 s before).
	if took > 15*time.Second {
		t.Errorf("robot-3 was reported unreachable after %v; want within the connect timeout, a few seconds", took.Round(time.Millisecond))
	}
	if !strings.Contains(recs["robot-3"].Error, "ssh") {
		t.Errorf("robot-3's error does not say what failed: %q", recs["robot-3"].Error)
	}
}
