package units

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
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
// own stops spawn no process at all, but for one that runctl hands over
// to the recorder as the manager drops its connection (HandedOver).

// ExitSuffix ends the name of a run's record, beside its spec: NAME.exit.
const ExitSuffix = ".exit"

// ExitRecord is how a run's last instance ended.
type ExitRecord struct {
	Result string // $SERVICE_RESULT: success, exit-code, signal, core-dump, timeout, watchdog, oom-kill...
	Code   string // $EXIT_CODE: exited, killed or dumped; "" if no main process ran
	Status string // $EXIT_STATUS: the exit status, or the signal's name without SIG
	// ByRunctl: runctl stopped it (stop, restart, replace).
	ByRunctl bool
	// Boot is the boot id (32 hex digits) of the boot the end was
	// recorded in; "" in records written before runctl noted it.
	Boot string
	// Restarting: systemd restarted the run after this end (--restart),
	// so it went on running.
	Restarting bool
	// Down: the instance was running when boot Boot went down: stopped
	// by a reboot or shutdown (recorded so), or ended by a power cut
	// (what a reader concludes: nothing recorded its end), when it was
	// last started (or restarted) at Since, if known.
	Down  bool
	Since time.Time
}

// Tokens of a record's link target after its three values.
const (
	byRunctl   = "runctl"
	restarting = "restarting"
	wentDown   = "down"
	bootPrefix = "boot="
)

// Target is the record as the link's target: the three values and, if
// runctl stopped the run, "runctl"; then boot=ID, "restarting" and
// "down" (stopped as the machine went down) if set.
func (r ExitRecord) Target() string {
	t := r.Result + " " + r.Code + " " + r.Status
	if r.ByRunctl {
		t += " " + byRunctl
	}
	if r.Boot != "" {
		t += " " + bootPrefix + r.Boot
	}
	if r.Restarting {
		t += " " + restarting
	}
	if r.Down {
		t += " " + wentDown
	}
	return t
}

// ParseExitRecord reads a link target written by the run's recorder or by
// runctl stop.
func ParseExitRecord(target string) (ExitRecord, bool) {
	f := strings.Split(target, " ")
	if len(f) < 3 || f[0] == "" {
		return ExitRecord{}, false
	}
	rec := ExitRecord{Result: f[0], Code: f[1], Status: f[2]}
	for _, tok := range f[3:] {
		switch {
		case tok == byRunctl:
			rec.ByRunctl = true
		case tok == restarting:
			rec.Restarting = true
		case tok == wentDown:
			rec.Down = true
		case strings.HasPrefix(tok, bootPrefix):
			rec.Boot = NormalBootID(tok[len(bootPrefix):])
			if rec.Boot == "" {
				return ExitRecord{}, false
			}
		default:
			return ExitRecord{}, false
		}
	}
	return rec, true
}

// NormalBootID is a boot id as the manager's %b gives it (32 lower-case hex
// digits), from that or from /proc/sys/kernel/random/boot_id's form; "" if
// id is neither.
func NormalBootID(id string) string {
	id = strings.ToLower(strings.ReplaceAll(strings.TrimSpace(id), "-", ""))
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		return ""
	}
	return id
}

// shortBootID is the first 8 digits of a boot id, as a person compares
// them (journalctl --list-boots shows them whole).
func shortBootID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// Ended is how a program ended, from systemd's result of its unit and the
// CLD_* code (exited, killed, dumped) and status of its main process; ""
// code when none ran. Every "how did it end" runctl shows is rendered by
// ExitRecord.String, from this.
func Ended(result, code, status string) ExitRecord {
	return ExitRecord{Result: result, Code: code, Status: status}
}

// String says how the run ended as ls, status, restart and run show it:
// "exit status 3", "killed by SIGKILL (oom-kill)", "watchdog timeout,
// killed by SIGABRT", "stopped by runctl", "did not start: 203/EXEC (exec)",
// "was running when boot 3f2a1b2c went down (started 2026-12-06 07:00:00)".
func (r ExitRecord) String() string {
	if r.Down {
		s := "was running when boot " + shortBootID(r.Boot) + " went down"
		if !r.Since.IsZero() {
			s += " (last started " + r.Since.Local().Format("2006-01-02 15:04:05") + ")"
		}
		return s
	}
	if r.ByRunctl {
		return "stopped by runctl"
	}
	var how string
	switch r.Code {
	case "exited":
		how = "exit status " + r.Status
		// systemd's own exit statuses (200-243): the program never ran.
		if n, err := strconv.Atoi(r.Status); err == nil && n >= 200 && n <= 243 {
			how = "did not start: " + r.Status
			if name := execStatusNames[n]; name != "" {
				how += "/" + name
			}
		}
	case "killed":
		how = "killed by SIG" + r.Status
	case "dumped":
		how = "killed by SIG" + r.Status + " (core dumped)"
	default:
		how = "did not start"
	}
	switch r.Result {
	case "", "success", "exit-code", "signal", "core-dump":
		return how
	case "watchdog":
		// It stopped sending WATCHDOG=1 in time (--watchdog).
		if r.Code == "" {
			return "watchdog timeout"
		}
		return "watchdog timeout, " + how
	}
	return fmt.Sprintf("%s (%s)", how, r.Result)
}

// execStatusNames are the names systemd gives its own exit statuses
// (systemd.exec(5), "Process exit codes"), for those a run meets.
var execStatusNames = map[int]string{
	200: "CHDIR", 201: "NICE", 202: "FDS", 203: "EXEC", 204: "MEMORY", 205: "LIMITS",
	206: "OOM_ADJUST", 207: "SIGNAL_MASK", 208: "STDIN", 209: "STDOUT", 210: "CHROOT",
	211: "IOPRIO", 212: "TIMERSLACK", 213: "SECUREBITS", 214: "SETSCHEDULER",
	215: "CPUAFFINITY", 216: "GROUP", 217: "USER", 218: "CAPABILITIES", 219: "CGROUP",
	220: "SETSID", 221: "CONFIRM", 222: "STDERR", 224: "PAM", 225: "NETWORK",
	226: "NAMESPACE", 227: "NO_NEW_PRIVILEGES", 228: "SECCOMP", 229: "SELINUX_CONTEXT",
	230: "PERSONALITY", 231: "APPARMOR_PROFILE", 232: "ADDRESS_FAMILIES",
	233: "RUNTIME_DIRECTORY", 235: "CHOWN", 236: "SMACK_PROCESS_LABEL",
	237: "KEYRING", 238: "STATE_DIRECTORY", 239: "CACHE_DIRECTORY",
	240: "LOGS_DIRECTORY", 241: "CONFIGURATION_DIRECTORY", 242: "NUMA_POLICY",
	243: "CREDENTIALS",
}

// ExitRecorder makes the recorder units of the runs kept in one store
// folder. Its id, from the folder's path, keeps stores of one manager apart.
type ExitRecorder struct {
	store, id string
	// stopPost: the run's own ExecStopPost= records, not OnSuccess= and
	// OnFailure= templates (systemd older than monitorVersion).
	stopPost bool
	// noExec: Type=simple instead of exec (systemd older than execVersion).
	noExec bool
	// everyEnd: the run's ExecStopPost= records every end of its program,
	// besides the templates (forSpec: a run systemd restarts by itself).
	everyEnd bool
}

// Versions of systemd that matter to how runs are made (systemd's NEWS).
const (
	// monitorVersion passes $MONITOR_SERVICE_RESULT, $MONITOR_EXIT_CODE and
	// $MONITOR_EXIT_STATUS to OnSuccess=/OnFailure= units (OnSuccess=
	// itself is 249). Before it, a run records its end from ExecStopPost=,
	// which gets $SERVICE_RESULT, $EXIT_CODE and $EXIT_STATUS on every
	// version runctl supports, at the cost of a process PID 1 forks within
	// every stop job.
	monitorVersion = 251
	// minVersion is the oldest systemd runctl makes runs in: the ":"
	// prefix of Exec*= lines (no $VAR expansion), which enable's unit
	// files and the drop-in depend on, came in 242 (Type=exec and per-unit
	// log rate limits in 240).
	minVersion = 242
	// execVersion is the oldest systemd where runs are Type=exec while they
	// have an ExecStopPost=: 247 was seen to busy-loop in PID 1, no longer
	// answering, after a daemon-reload that followed such a unit's end
	// (3 to 7 rounds of systemd-run -p Type=exec -p ExecStopPost=/bin/true;
	// never with Type=simple, nor on 252 or 257). 248 to 251 were not
	// tried: they get Type=simple too.
	execVersion = 252
)

// CheckVersion refuses a manager of systemd version v older than
// minVersion, naming both.
func CheckVersion(v int) error {
	if v < minVersion {
		return fmt.Errorf("the manager is systemd %d, and runctl needs systemd %d or newer; upgrade systemd", v, minVersion)
	}
	return nil
}

// ForVersion is e for a manager of systemd version v; 0 (unknown) takes the
// route that works on every version.
func (e ExitRecorder) ForVersion(v int) ExitRecorder {
	e.stopPost = v < monitorVersion
	e.noExec = v < execVersion
	return e
}

// serviceType is the run's Type=: s.serviceType(), but simple where exec is
// not safe (execVersion). The start job then succeeds even if execve fails;
// the run fails at once with status 203, which settle reports.
func (e ExitRecorder) serviceType(s *Spec) string {
	if t := s.serviceType(); t != "exec" || !e.noExec {
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

// stopPostScript records as the templates do, and skips what they skip (a
// success with no exit code). The boot id is read by sh itself (read is
// a builtin: no process more); the manager expands no %b over D-Bus. An
// end that is a success (a stop) while the manager is stopping is the
// machine going down, which the record says ("down"): only then, and
// only for ends runctl did not record itself, is the manager asked.
const stopPostScript = `[ "$SERVICE_RESULT" = success ] && [ -z "$EXIT_CODE" ] && exit 0; read b < /proc/sys/kernel/random/boot_id; r=; [ "$SERVICE_RESULT" = success ] && [ "$(systemctl is-system-running 2>/dev/null)" = stopping ] && r=" down"; exec /bin/ln -sfn "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS boot=$b$r" "$0"`

// restartingScript is stopPostScript for a run systemd restarts by itself
// (Restart=on-failure or always): an end that is not a success is followed
// by a restart, which the record says ("restarting"), so that a run still
// going when the machine went down is not read as ended by its last
// crash. (A run that reached its restart limit ends failed, and its
// OnFailure= recorder writes that end after this one.)
const restartingScript = `[ "$SERVICE_RESULT" = success ] && [ -z "$EXIT_CODE" ] && exit 0; read b < /proc/sys/kernel/random/boot_id; r=" restarting"; [ "$SERVICE_RESULT" != success ] || { [ "$(systemctl is-system-running 2>/dev/null)" = stopping ] && r=" down" || r=; }; exec /bin/ln -sfn "$SERVICE_RESULT $EXIT_CODE $EXIT_STATUS boot=$b$r" "$0"`

// stopPostCommand is the ExecStopPost= that records how run name ended:
// the same link the templates write. Its $ are sh's (the manager passes
// the variables in the environment); the path is sh's $0, as typed. It
// runs as the run's User=, so a --uid run cannot write into root's store;
// the unit files (enable, the drop-in) run it with full privileges (+).
func (e ExitRecorder) stopPostCommand(name string) (command, bool) {
	if !e.stopPost && !e.everyEnd || e.store == "" {
		return command{}, false
	}
	script := stopPostScript
	if e.everyEnd {
		script = restartingScript
	}
	return command{
		Key:  "ExecStopPost",
		Path: "/bin/sh",
		Argv: []string{"sh", "-c", script, filepath.Join(e.store, name+ExitSuffix)},
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
	return filepath.Join(runtimeDir, "runctl", e.id, name+markerSuffix)
}

// HandedOver is the marker once runctl, no longer sure to see the end of
// the stop it makes, has handed the stop over to the recorder: while it
// exists, the recorder records the run's end as runctl's.
func (e ExitRecorder) HandedOver(runtimeDir, name string) string {
	return filepath.Join(runtimeDir, "runctl", e.id, name+handedOverSuffix)
}

// The marker's names, after the run's.
const (
	markerSuffix     = ".stopping"
	handedOverSuffix = ".handed-over"
)

// Templates are the recorder's unit files, by file name; none for the
// ExecStopPost= route.
func (e ExitRecorder) Templates() (map[string][]byte, error) {
	if err := pathProblem(e.store, false); err != nil {
		return nil, fmt.Errorf("the folder of runctl's runs, %q, %w", e.store, err)
	}
	if e.stopPost {
		return nil, nil
	}
	// The manager expands ${VAR}, %i and %t here: $ and % in the folder
	// are doubled. The script's failure must not leave a failed unit
	// behind (-).
	dir := quoteExecArg(strings.ReplaceAll(e.store, "$", "$$") + "/")
	dir = dir[:len(dir)-1] // "/folder/, the run's file names follow
	render := func(script string) ([]byte, error) {
		var b unitWriter
		b.comment(UnitFileMarker + ": records how run %i ended, for runctl ls and status.\n")
		b.section("Unit")
		b.raw("Description", "How runctl run %i ended")
		b.raw("DefaultDependencies", "no")
		b.raw("ConditionPathExists", "!%t/runctl/"+e.id+"/%i"+markerSuffix)
		// The run starts again only once its end is recorded: the stop
		// half of an outside systemctl restart triggers OnSuccess= too,
		// and the new instance would reset what $MONITOR_* tell.
		b.raw("Before", UnitPrefix+"%i.service")
		b.section("Service")
		b.raw("Type", "oneshot")
		// $0 is the record, $1 the boot id (%b, which the manager puts
		// in: unit files only), $2 the run's handed-over marker, $3 its
		// spec.
		b.raw("ExecStart", `-@/bin/sh "/bin/sh" "-c" `+quoteExecArg(script)+` `+
			dir+`%i`+ExitSuffix+`" "%b" "%t/runctl/`+e.id+`/%i`+handedOverSuffix+`" `+dir+`%i.json"`)
		return b.buf.Bytes(), b.err
	}
	// An end while runctl, alive, has handed its stop over (HandedOver)
	// is that stop's, and recorded so. A run removed meanwhile (rm
	// removes the spec, then the record) keeps no record: checked once
	// the record is written, so that rm, done before or after, leaves
	// none. sh's $ are doubled for the manager.
	const record = `/bin/ln -sfn "$$MONITOR_SERVICE_RESULT $$MONITOR_EXIT_CODE $$MONITOR_EXIT_STATUS boot=$$1$$r" "$$0"; [ -e "$$3" ] || exec /bin/rm -f "$$0"`
	failed, err := render(`r=; [ -e "$$2" ] && r=" ` + byRunctl + `"; ` + record)
	if err != nil {
		return nil, err
	}
	// A success with no exit code is no end of a program: the stop half of
	// a restart (systemctl restart, Restart=) triggers OnSuccess= too, and
	// by the time the recorder runs, the new instance has reset what
	// $MONITOR_* would tell. Recording it would erase how the run last
	// ended. (OnFailure= never sees that.) OnSuccess= with a result that
	// is no success is the stop half of an automatic restart (Restart=):
	// the record says "restarting", as the run's own ExecStopPost= does
	// (restartingScript). A stop while the manager is stopping is the
	// machine going down (stopPostScript).
	ended, err := render(`[ "$$MONITOR_SERVICE_RESULT" = success ] && [ -z "$$MONITOR_EXIT_CODE" ] && exit 0; if [ -e "$$2" ]; then r=" ` + byRunctl + `"; else r=" restarting"; [ "$$MONITOR_SERVICE_RESULT" != success ] || { [ "$$(systemctl is-system-running 2>/dev/null)" = stopping ] && r=" down" || r=; }; fi; ` + record)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{endedTemplate + e.id + "@.service": ended, failedTemplate + e.id + "@.service": failed}, nil
}
