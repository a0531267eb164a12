package units

import (
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
// only from envFile, never Environment=, which any local user can read. envFile must be absolute and free of glob characters
// (* ? [), since the manager globs it; "" leaves it out. s should have passed
// Validate.
func Properties(s *Spec, envFile string) []sdbus.Property {
	props := []sdbus.Property{
		prop("Description", s.Description()),
		prop("ExecStart", []execCommand{{Path: s.Path, Argv: EscapeDollars(s.Argv)}}),
		// exec, not simple: the start job fails if execve fails.
		prop("Type", "exec"),
		prop("WorkingDirectory", s.Dir),
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
	if _, ok := property(s.Properties, "TimeoutStopSec"); !ok {
		props = append(props, prop("TimeoutStopUSec", uint64(time.Duration(s.StopTimeout)/time.Microsecond)))
	}
	if s.User != "" {
		props = append(props, prop("User", s.User))
	}
	if s.Group != "" {
		props = append(props, prop("Group", s.Group))
	}
	if s.Restarts() {
		props = append(props,
			prop("Restart", s.Restart),
			prop("RestartUSec", uint64(time.Duration(s.RestartDelay)/time.Microsecond)),
		)
	}
	if s.NoLogLimit {
		props = append(props, prop("LogRateLimitIntervalUSec", uint64(0)))
	}
	if s.MaxRestarts > 0 {
		// The limit counts starts: the first one plus MaxRestarts restarts.
		props = append(props,
			prop("StartLimitBurst", uint32(s.MaxRestarts+1)),
			prop("StartLimitIntervalUSec", uint64(time.Duration(s.Within)/time.Microsecond)),
		)
	}
	return append(props, propertyBus(s.Properties)...)
}

// EscapeDollars doubles every $ so that the manager's $VAR expansion gives
// back argv unchanged.
func EscapeDollars(argv []string) []string {
	out := make([]string, len(argv))
	for i, a := range argv {
		out[i] = strings.ReplaceAll(a, "$", "$$")
	}
	return out
}

func prop(name string, value any) sdbus.Property {
	return sdbus.Property{Name: name, Value: dbus.MakeVariant(value)}
}
