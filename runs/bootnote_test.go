package runs

import (
	"testing"
	"time"

	"github.com/runctl/runctl/units"
)

func TestEndedBy(t *testing.T) {
	const a, b, c = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccc"
	t0 := time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)
	t1, t2 := t0.Add(time.Minute), t0.Add(2*time.Minute)
	exit3 := units.ExitRecord{Result: "exit-code", Code: "exited", Status: "3"}
	with := func(r units.ExitRecord, boot string, restarting, runctl bool) units.ExitRecord {
		r.Boot, r.Restarting, r.ByRunctl = boot, restarting, runctl
		return r
	}
	downIn := func(boot string, since time.Time) units.ExitRecord {
		return units.ExitRecord{Down: true, Boot: boot, Since: since}
	}
	for _, tc := range []struct {
		what     string
		rec      units.ExitRecord
		at       time.Time
		recorded bool
		boot     string
		started  time.Time
		noted    bool
		now      string
		want     units.ExitRecord
		ok       bool
	}{
		{"nothing known", units.ExitRecord{}, time.Time{}, false, "", time.Time{}, false, b, units.ExitRecord{}, false},
		{"record, no note (written before notes)", exit3, t1, true, "", time.Time{}, false, b, exit3, true},
		{"boot unknown", exit3, t1, true, a, t0, true, "", exit3, true},
		{"started and ended in this boot", with(exit3, b, false, false), t1, true, b, t0, true, b, with(exit3, b, false, false), true},
		{"started in this boot, running: the previous instance's record", with(exit3, a, false, false), t1, true, b, t2, true, b, with(exit3, a, false, false), true},
		{"started in an earlier boot, never recorded", units.ExitRecord{}, time.Time{}, false, a, t0, true, b, downIn(a, t0), true},
		{"started after its last record (a plain run, power cut)", with(exit3, a, false, false), t0, true, a, t1, true, b, downIn(a, t1), true},
		{"runctl restarted it, then the machine went down", with(exit3, a, false, true), t0, true, a, t1, true, b, downIn(a, t1), true},
		{"an older boot's record", with(exit3, c, false, false), t0, true, a, t1, true, b, downIn(a, t1), true},
		{"ended in its boot after the start", with(exit3, a, false, false), t2, true, a, t1, true, b, with(exit3, a, false, false), true},
		{"crashed, restarted by systemd, then down", with(exit3, a, true, false), t2, true, a, t1, true, b, downIn(a, t2), true},
		{"crash-restarted in an earlier boot than the note's: older", with(exit3, c, true, false), t0, true, a, t1, true, b, downIn(a, t1), true},
		{"an enabled run ended in a later boot than the note's", with(exit3, c, false, false), t2, true, a, t1, true, b, with(exit3, c, false, false), true},
		{"no note, a record that says it went on restarting", with(exit3, a, true, false), t2, true, "", time.Time{}, false, b, downIn(a, t2), true},
		{"stopped as its boot went down (a reboot)", units.ExitRecord{Result: "success", Code: "killed", Status: "TERM", Boot: a, Down: true}, t2, true, a, t1, true, b, units.ExitRecord{Result: "success", Code: "killed", Status: "TERM", Boot: a, Down: true}, true},
		{"a record with no boot after the start (an older recorder)", exit3, t2, true, a, t1, true, b, exit3, true},
		{"ended in this boot, note from an earlier one", with(exit3, b, false, false), t0, true, a, t1, true, b, with(exit3, b, false, false), true},
	} {
		got, _, ok := endedBy(tc.rec, tc.at, tc.recorded, tc.boot, tc.started, tc.noted, tc.now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %+v %v, want %+v %v", tc.what, got, ok, tc.want, tc.ok)
		}
	}
}
