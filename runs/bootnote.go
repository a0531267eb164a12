package runs

import (
	"os"
	"path/filepath"
	"time"

	"github.com/runctl/runctl/runs/slot"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// A reboot or a power cut ends every run without a word: nothing stops
// them one by one that a recorder would hear of (a power cut), or what is
// heard is the machine going down. So runctl notes each start it makes,
// beside the spec: NAME.start, a symbolic link whose target is the boot
// id and whose time is the start's. It is one symlink and one rename in
// runctl's own process, no process more on the start path. The records
// (units.ExitRecord) carry the boot id of the end they record, and a run
// that systemd restarts by itself says so in its record. Read together:
// an instance noted in an earlier boot that no record of that boot shows
// ending was running when that boot went down.

// startSuffix ends the name of a run's start note: NAME.start.
const startSuffix = ".start"

func (r *Runs) startNote(name string) string {
	return filepath.Join(r.Store.Dir, name+startSuffix)
}

// noteStart notes that runctl started the run in this boot, now. A note
// that cannot be written (the store is root's) is left as it was.
func (r *Runs) noteStart(name string) {
	boot := slot.CurrentBoot()
	if boot == "" {
		return
	}
	p := r.startNote(name)
	tmp := p + ".new"
	os.Remove(tmp)
	if os.Symlink(boot, tmp) == nil && os.Rename(tmp, p) != nil {
		os.Remove(tmp)
	}
}

// startNoted reads the run's start note: the boot and the time of the
// last start runctl made.
func (r *Runs) startNoted(name string) (boot string, at time.Time, ok bool) {
	p := r.startNote(name)
	target, err := os.Readlink(p)
	if err != nil {
		return "", time.Time{}, false
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return "", time.Time{}, false
	}
	boot = units.NormalBootID(target)
	return boot, fi.ModTime(), boot != ""
}

// lastExit is how the run's last instance ended, as recorded and noted,
// and when it was recorded: the record, or that it was running when an
// earlier boot went down.
func (r *Runs) lastExit(name string) (units.ExitRecord, time.Time, bool) {
	rec, at, recorded := r.Store.LastExit(name, true)
	boot, started, noted := r.startNoted(name)
	return endedBy(rec, at, recorded, boot, started, noted, slot.CurrentBoot())
}

// endedBy decides how a run's last instance ended from its record (rec,
// written at), its start note (the boot and the time of runctl's last
// start) and the current boot. Pure: the table in bootnote_test.go.
func endedBy(rec units.ExitRecord, at time.Time, recorded bool, boot string, started time.Time, noted bool, now string) (units.ExitRecord, time.Time, bool) {
	down := func(boot string, since time.Time) (units.ExitRecord, time.Time, bool) {
		return units.ExitRecord{Down: true, Boot: boot, Since: since}, time.Time{}, true
	}
	switch {
	case now == "":
		return rec, at, recorded // boots cannot be told apart
	case recorded && rec.Boot == now:
		return rec, at, true // ended in this boot
	case !noted || boot == now:
		// runctl's last start was in this boot (what ended is known to
		// systemd, or recorded), or it noted none: a record from an
		// earlier boot that says the run was going on then is the story.
		if recorded && rec.Restarting && rec.Boot != "" {
			return down(rec.Boot, at)
		}
		return rec, at, recorded
	case recorded && !at.Before(started):
		// Recorded after runctl's last start, in that boot or a later
		// one (an enabled run systemd started at boot), or as that boot
		// went down; or by a recorder written before records had a boot
		// (an enabled run's templates, until runctl next writes them).
		if rec.Restarting && rec.Boot != "" {
			return down(rec.Boot, at)
		}
		return rec, at, true
	}
	// Started in an earlier boot, and nothing recorded since.
	return down(boot, started)
}

// ended says how the unit's main process ended, with the unit's result
// ("killed by SIGKILL (oom-kill)", "watchdog timeout, killed by SIGABRT"),
// or "" if it has not ended (nor been killed for its watchdog).
func ended(st systemdctl.State) string {
	code, status, ok := st.Exit()
	if !ok && st.Result != "watchdog" {
		return ""
	}
	return units.Ended(st.Result, code, status).String()
}
