package units

import (
	"slices"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

// execCommand is one ExecStart= entry, D-Bus (sasb): path, argv, and
// whether a failure is ignored.
type execCommand struct {
	Path          string
	Argv          []string
	IgnoreFailure bool
}

// command is one command line of a run's unit: its Exec*= key, the
// absolute executable and argv as typed. Every command runctl gives systemd
// is listed by commands, so the D-Bus properties, the unit file and the
// drop-in all carry the same ones.
type command struct {
	Key  string // ExecStart, ExecStopPost
	Path string
	Argv []string
	// IgnoreFailure (-): its failure does not fail the unit.
	IgnoreFailure bool
	// Privileged (+): in unit files, it runs with full privileges, not
	// as User=. D-Bus's Exec*= properties cannot say so.
	Privileged bool
}

// commands lists the run's commands, with the recorder's if exit records
// from ExecStopPost=.
func commands(s *Spec, exit ExitRecorder) []command {
	cs := []command{{Key: "ExecStart", Path: s.Path, Argv: s.Argv}}
	if s.NoLogLimit {
		cs = append(cs, command{Key: "ExecStopPost", Path: journalSync[0], Argv: journalSync[1:], IgnoreFailure: true})
	}
	if c, ok := exit.stopPostCommand(s.Name); ok {
		cs = append(cs, c)
	}
	return cs
}

// environmentFile is one EnvironmentFiles= entry, D-Bus (sb): path, and
// whether a missing file is ignored.
type environmentFile struct {
	Path   string
	Ignore bool
}

// Properties builds the StartTransientUnit properties for s. The manager
// expands $VAR in ExecStart's arguments (not % specifiers, over D-Bus), so
// every $ is sent doubled: the program gets argv exactly as typed.
// ExecStartEx with no-env-expand would say that more directly, but systemd
// 252 writes it into /run/systemd/transient as an ExecStartEx= line its own
// unit file parser does not know: after any daemon-reload (apt runs them)
// the unit turns bad-setting and cannot be started. The environment comes
// only from envFile, never Environment=, which any local user can read
// (Environment= carries only the fixed AddedEnv). envFile must be absolute and free of glob characters
// (* ? [), since the manager globs it; "" leaves it out. exit names how
// the run's end is recorded (the zero ExitRecorder: not at all). version
// is the manager's (0: unknown), which decides how restarts back off
// (Spec.backoff). s should have passed Validate.
func Properties(s *Spec, envFile string, exit ExitRecorder, version int) []sdbus.Property {
	exit = exit.forSpec(s)
	props := []sdbus.Property{prop("Description", s.Description())}
	if ok, failed := exit.Triggers(s.Name); ok != "" {
		props = append(props, prop("OnSuccess", []string{ok}), prop("OnFailure", []string{failed}))
	}
	var keys []string
	byKey := map[string][]execCommand{}
	for _, c := range commands(s, exit) {
		if byKey[c.Key] == nil {
			keys = append(keys, c.Key)
		}
		byKey[c.Key] = append(byKey[c.Key], execCommand{Path: c.Path, Argv: escapeDollars(c.Argv), IgnoreFailure: c.IgnoreFailure})
	}
	for _, k := range keys {
		props = append(props, prop(k, byKey[k]))
	}
	props = append(props,
		// exec or notify, not simple: the start job fails if execve fails
		// (but see execVersion).
		prop("Type", exit.serviceType(s)),
		prop("WorkingDirectory", s.Dir),
	)
	if added := s.AddedEnv(); len(added) > 0 {
		props = append(props, prop("Environment", added))
	}
	if envFile != "" {
		props = append(props, prop("EnvironmentFiles", []environmentFile{{Path: envFile}}))
	}
	props = append(props,
		prop("StandardOutput", "journal"),
		prop("StandardError", "inherit"),
		prop("SyslogIdentifier", s.Name),
		// Children die with the run, unlike supervisord's orphans.
		prop("KillMode", "control-group"),
		prop("SendSIGKILL", true),
	)
	if cpuAccountingSetting(version) {
		props = append(props, prop("CPUAccounting", true))
	}
	if _, ok := property(s.Properties, "TimeoutStopSec"); !ok {
		props = append(props, prop("TimeoutStopUSec", uint64(time.Duration(s.StopTimeout)/time.Microsecond)))
	}
	if s.User != "" {
		props = append(props, prop("User", s.User))
	}
	if s.Group != "" {
		props = append(props, prop("Group", s.Group))
	}
	props = append(props, restartProperties(s, version)...)
	if s.NoLogLimit {
		props = append(props,
			prop("LogRateLimitIntervalUSec", uint64(noLogLimitInterval/time.Microsecond)),
			prop("LogRateLimitBurst", uint32(noLogLimitBurst)),
		)
	}
	if a := s.notifyAccess(); a != "" {
		props = append(props, prop("NotifyAccess", a))
	}
	if s.Watchdog > 0 {
		props = append(props, prop("WatchdogUSec", uint64(time.Duration(s.Watchdog)/time.Microsecond)))
	}
	if after := s.afterUnits(); len(after) > 0 {
		props = append(props, prop("After", after))
	}
	if wants := s.wantsUnits(); len(wants) > 0 {
		props = append(props, prop("Wants", wants))
	}
	return append(props, propertyBus(s.Properties)...)
}

// journald's per-unit rate limit, lifted. systemd 252 reads
// LogRateLimitIntervalUSec=0 (and a burst of 0) as "unset", so journald's
// default limit applied. 10 million lines a second is far beyond what
// journald writes, and small enough that journald's scaling of the burst
// by free disk space (up to ×47/4, in 32 bits) cannot overflow.
const (
	noLogLimitInterval = time.Second
	noLogLimitBurst    = 10_000_000
)

// journalSync runs after the program ends (ExecStopPost=, failure ignored;
// see commands):
// journald reads a unit's limit when it handles the unit's first line, and
// a program that wrote less than its stream's buffer and exited before then
// was measured under journald's default limit (350 of 3,000 lines kept):
// the unit was gone, and its limit with it. journalctl --sync returns once
// journald has handled what is queued, while the unit still exists. It
// needs root: for --uid runs and a user manager's it fails, silently (its
// error would be a line of the run's output).
var journalSync = []string{"/bin/sh", "sh", "-c", "exec journalctl --sync 2>/dev/null"}

// afterUnits are the units s starts after: its runs' and systemd's.
func (s *Spec) afterUnits() []string {
	var out []string
	for _, a := range s.After {
		out = append(out, depUnit(a))
	}
	return out
}

// wantsUnits are the units s pulls in: those it starts after, and its
// Wants, each once.
func (s *Spec) wantsUnits() []string {
	out := s.afterUnits()
	for _, a := range s.Wants {
		if u := depUnit(a); !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// Stdin is what an attached run reads (run -i): runctl's own stdin as a
// file descriptor (a pipe or a file), or a terminal device (a pty runctl
// relays its terminal through). It is not kept in the spec: it exists only
// while runctl does.
type Stdin struct {
	FD  int    // >= 0: this descriptor, passed to the manager
	TTY string // else this terminal device, which becomes the program's controlling terminal
}

// StdinProperties are the transient unit's properties for in; stdout and
// stderr stay in the journal.
func StdinProperties(in Stdin) []sdbus.Property {
	if in.TTY != "" {
		return []sdbus.Property{prop("StandardInput", "tty"), prop("TTYPath", in.TTY)}
	}
	return []sdbus.Property{prop("StandardInputFileDescriptor", dbus.UnixFD(in.FD))}
}

// escapeDollars doubles every $ so that the manager's $VAR expansion gives
// back argv unchanged.
func escapeDollars(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "$", "$$")
	}
	return out
}

func prop(name string, value any) sdbus.Property {
	return sdbus.Property{Name: name, Value: dbus.MakeVariant(value)}
}

// cpuAccountingSetting says whether a manager of systemd version v takes
// CPUAccounting=: status shows CPU time, which a manager may not count by
// default (DefaultCPUAccounting=, off with hybrid cgroups). From 258 on it
// always counts, and the setting is deprecated (a warning at every load of
// a unit file that has it). Unknown (0): left out, and status reads /proc.
func cpuAccountingSetting(v int) bool { return v > 0 && v < 258 }
