package units

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
)

// How a run ended outlives its unit: systemd forgets a transient unit's
// exit status once it collects the unit, and every unit at a reboot. So
// each run names a recorder as OnSuccess= and OnFailure=: a template
// instance that records systemd's $MONITOR_SERVICE_RESULT, $MONITOR_EXIT_CODE
// and $MONITOR_EXIT_STATUS (systemd.exec(5)) beside the spec, as the target
// of a symbolic link: listing a thousand stopped runs then costs one
// readlink each, no open or read. ln -f renames a new link over the old, so
// a reader sees the old record or the new one.
//
// The recorder starts once the unit is over, so no stop job waits for it:
// an ExecStopPost= did, and PID 1's fork of it made every stop 16 ms
// slower (measured on 252). runctl stops a run with a marker file in place
// that the recorder's condition checks, and records the stop itself: its
// own stops spawn no process at all.

// ExitSuffix ends the name of a run's record, beside its spec: NAME.exit.
const ExitSuffix = ".exit"

// ExitRecord is how a run's last instance ended.
type ExitRecord struct {
	Result string // $SERVICE_RESULT: success, exit-code, signal, core-dump, timeout, watchdog, oom-kill...
	Code   string // $EXIT_CODE: exited, killed or dumped; "" if no main process ran
	Status string // $EXIT_STATUS: the exit status, or the signal's name without SIG
	// ByRunctl: runctl stopped it (stop, restart, replace).
	ByRunctl bool
}

// byRunctl marks a record runctl stop rewrote.
const byRunctl = "runctl"

// Target is the record as the link's target: the three values and, if
// runctl stopped the run, "runctl".
func (r ExitRecord) Target() string {
	t := r.Result + " " + r.Code + " " + r.Status
	if r.ByRunctl {
		t += " " + byRunctl
	}
	return t
}

// ParseExitRecord reads a link target written by the run's recorder or by
// runctl stop.
func ParseExitRecord(target string) (ExitRecord, bool) {
	f := strings.Split(target, " ")
	if len(f) < 3 || len(f) > 4 || f[0] == "" || len(f) == 4 && f[3] != byRunctl {
		return ExitRecord{}, false
	}
	return ExitRecord{Result: f[0], Code: f[1], Status: f[2], ByRunctl: len(f) == 4}, true
}

// String says how the run ended as ls and status show it: "exit status 3",
// "killed by SIGKILL (oom-kill)", "stopped by runctl".
func (r ExitRecord) String() string {
	var how string
	switch r.Code {
	case "exited":
		how = "exit status " + r.Status
	case "killed":
		how = "killed by SIG" + r.Status
	case "dumped":
		how = "killed by SIG" + r.Status + " (core dumped)"
	default:
		how = "did not start"
	}
	switch {
	case r.ByRunctl:
		return "stopped by runctl"
	case r.Result != "" && r.Result != "success" && r.Result != "exit-code" && r.Result != "signal" && r.Result != "core-dump":
		return fmt.Sprintf("%s (%s)", how, r.Result)
	}
	return how
}

// ExitRecorder makes the recorder units of the runs kept in one store
// folder. Its id, from the folder's path, keeps stores of one manager apart.
type ExitRecorder struct {
	store, id string
	// stopPost: the run's own ExecStopPost= records, not OnSuccess= and
	// OnFailure= templates (systemd older than MonitorVersion).
	stopPost bool
	// noExec: Type=simple instead of exec (systemd older than ExecVersion).
	noExec bool
	// everyEnd: the run's ExecStopPost= records every end of its program,
	// besides the templates (forSpec: a run systemd restarts by itself).
	everyEnd bool
}

// Versions of systemd that matter to how runs are made (systemd's NEWS).
const (
	// MonitorVersion passes $MONITOR_SERVICE_RESULT, $MONITOR_EXIT_CODE and
	// $MONITOR_EXIT_STATUS to OnSuccess=/OnFailure= units (OnSuccess=
	// itself is 249). Before it, a run records its end from ExecStopPost=,
	// which gets $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS on every
	// version runctl supports, at the cost of a process PID 1 forks within
	// every stop job.
	MonitorVersion = 251
	// MinVersion is the oldest systemd runctl makes runs in: the ":"
	// prefix of Exec*= lines (no $VAR expansion), which enable's unit
	// files and the drop-in depend on, came in 242 (Type=exec and per-unit
	// log rate limits in 240).
	MinVersion = 242
	// ExecVersion is the oldest systemd where runs are Type=exec while they
	// have an ExecStopPost=: 247 was seen to busy-loop in PID 1, no longer
	// answering, after a daemon-reload that followed such a unit's end
	// (3 to 7 rounds of systemd-run -p Type=exec -p ExecStopPost=/bin/true;
	// never with Type=simple, nor on 252 or 257). 248 to 251 were not
	// tried: they get Type=simple too.
	ExecVersion = 252
)

// CheckVersion refuses a manager of systemd version v older than
// MinVersion, naming both.
func CheckVersion(v int) error {
	if v < MinVersion {
		return fmt.Errorf("the manager is systemd %d, and runctl needs systemd %d or newer; upgrade systemd", v, MinVersion)
	}
	return nil
}

// ForVersion is e for a manager of systemd version v; 0 (unknown) takes the
// route that works on every version.
func (e ExitRecorder) ForVersion(v int) ExitRecorder {
	e.stopPost = v < MonitorVersion
	e.noExec = v < ExecVersion
	return e
}

// serviceType is the run's Type=: s.ServiceType(), but simple where exec is
// not safe (ExecVersion). The start job then succeeds even if execve fails;
// the run fails at once with status 203, which settle reports.
func (e ExitRecorder) serviceType(s *Spec) string {
	if t := s.ServiceType(); t != "exec" || !e.noExec {
		return t
	}
	return "simple"
}

// forSpec is e for run s. A run that systemd restarts by itself records
// from its own ExecStopPost= as well: the templates hear only of its final
// end, and a crash that a restart follows (a signal, the watchdog, the
// OOM killer) would be lost. That costs such a run a process within each
// stop job.
func (e ExitRecorder) forSpec(s *Spec) ExitRecorder {
	e.everyEnd = s.Restarts()
	return e
}

// StopPost says whether the runs' ExecStopPost= records how they ended
// (no recorder templates).
func (e ExitRecorder) StopPost() bool { return e.stopPost }

// stopPostScript records as the templates do, and skips what they skip (a
// success with no exit code).
const stopPostScript = `[ "$SERVICE_RESULT" = success ] && [ -z "$EXIT_CODE" ] && exit 0; exec /bin/ln -sfn "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS" "$0"`

// stopPostCommand is the ExecStopPost= that records how run name ended:
// the same link the templates write. Its $ are sh's (the manager passes
// the variables in the environment); the path is sh's $0, as typed. It
// runs as the run's User=, so a --uid run cannot write into root's store;
// the unit files (enable, the drop-in) run it with full privileges (+).
func (e ExitRecorder) stopPostCommand(name string) (command, bool) {
	if !e.stopPost && !e.everyEnd || e.store == "" {
		return command{}, false
	}
	return command{
		Key:  "ExecStopPost",
		Path: "/bin/sh",
		Argv: []string{"sh", "-c", stopPostScript, filepath.Join(e.store, name+ExitSuffix)},
		// Its failure must not fail the run.
		IgnoreFailure: true,
		Privileged:    true,
	}, true
}

// NewExitRecorder is the recorder of the runs kept in store.
func NewExitRecorder(store string) ExitRecorder {
	sum := sha256.Sum256([]byte(store))
	return ExitRecorder{store: store, id: hex.EncodeToString(sum[:4])}
}

// The recorder templates: 252 tells an instance how its trigger ended only
// if it has a single trigger, so OnSuccess= and OnFailure= name different
// templates. Their names keep out of runctl-*, the runs' own names (so do
// runctl.operator.socket's).
const (
	endedTemplate  = "runctl.ended-"
	failedTemplate = "runctl.failed-"
)

// Triggers are the units a run names as OnSuccess= and OnFailure=, or
// none for the zero ExitRecorder and the ExecStopPost= route.
func (e ExitRecorder) Triggers(name string) (onSuccess, onFailure string) {
	if e.store == "" || e.stopPost {
		return "", ""
	}
	return endedTemplate + e.id + "@" + name + ".service", failedTemplate + e.id + "@" + name + ".service"
}

// Marker is the file that, while it exists, keeps the run's recorder from
// running; runtimeDir is the manager's (%t: /run, or $XDG_RUNTIME_DIR).
func (e ExitRecorder) Marker(runtimeDir, name string) string {
	return filepath.Join(runtimeDir, "runctl", e.id, name+".stopping")
}

// Templates are the recorder's unit files, by file name; none for the
// ExecStopPost= route.
func (e ExitRecorder) Templates() (map[string][]byte, error) {
	if err := pathProblem(e.store, false); err != nil {
		return nil, fmt.Errorf("cannot record how runs end in %q: it %w", e.store, err)
	}
	if e.stopPost {
		return nil, nil
	}
	// The manager expands ${VAR} and %i here: $ and % in the folder are
	// doubled. ln's failure must not leave a failed unit behind (-).
	dir := quoteExecArg(strings.ReplaceAll(e.store, "$", "$$") + "/")
	render := func(exec string) ([]byte, error) {
		var b unitWriter
		b.comment(UnitFileMarker + ": records how run %i ended, for runctl ls and status.\n")
		b.section("Unit")
		b.raw("Description", "How runctl run %i ended")
		b.raw("DefaultDependencies", "no")
		b.raw("ConditionPathExists", "!%t/runctl/"+e.id+"/%i.stopping")
		b.section("Service")
		b.raw("Type", "oneshot")
		b.raw("ExecStart", exec)
		return b.buf.Bytes(), b.err
	}
	path := dir[:len(dir)-1] + `%i` + ExitSuffix + `"`
	failed, err := render(`-@/bin/ln "/bin/ln" "-sfn" "${MONITOR_SERVICE_RESULT} ${MONITOR_EXIT_CODE} ${MONITOR_EXIT_STATUS}" ` + path)
	if err != nil {
		return nil, err
	}
	// A success with no exit code is no end of a program: the stop half of
	// a restart (systemctl restart, Restart=) triggers OnSuccess= too, and
	// by the time the recorder runs, the new instance has reset what
	// $MONITOR_* would tell. Recording it would erase how the run last
	// ended. sh's $ are doubled for the manager. (OnFailure= never sees
	// that: its recorder stays a plain ln, one exec sooner.)
	script := `[ "$$MONITOR_SERVICE_RESULT" = success ] && [ -z "$$MONITOR_EXIT_CODE" ] && exit 0; exec /bin/ln -sfn "$$MONITOR_SERVICE_RESULT $$MONITOR_EXIT_CODE $$MONITOR_EXIT_STATUS" "$$0"`
	ended, err := render(`-@/bin/sh "/bin/sh" "-c" ` + quoteExecArg(script) + ` ` + path)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{endedTemplate + e.id + "@.service": ended, failedTemplate + e.id + "@.service": failed}, nil
}
