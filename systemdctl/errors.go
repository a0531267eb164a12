package systemdctl

import (
	"errors"
	"fmt"

	"github.com/godbus/dbus/v5"
)

var (
	// ErrNoSystemd: no manager could be reached.
	ErrNoSystemd = errors.New("systemd is not reachable")
	// ErrUnitExists: a unit of that name is still loaded.
	ErrUnitExists = errors.New("unit already exists")
	// ErrPermission: the manager (or polkit) refused.
	ErrPermission = errors.New("permission denied")
	// ErrNotLoaded: systemd does not know the unit.
	ErrNotLoaded = errors.New("unit not loaded")
)

// wrap turns well-known D-Bus errors into sentinels that callers test with
// errors.Is, keeping systemd's own message. what names the operation where
// the caller's own message would not ("daemon-reload"); the caller says
// what could not be done ("cannot stop nav"), so "" is usual.
func wrap(err error, what string) error {
	if err == nil {
		return nil
	}
	if what == "" {
		return wrapSentinel(err)
	}
	return fmt.Errorf("%s: %w", what, wrapSentinel(err))
}

func wrapSentinel(err error) error {
	var de dbus.Error
	if errors.As(err, &de) {
		msg := err.Error()
		switch de.Name {
		case "org.freedesktop.systemd1.UnitExists":
			return fmt.Errorf("%w (%s)", ErrUnitExists, msg)
		case "org.freedesktop.systemd1.NoSuchUnit", "org.freedesktop.systemd1.LoadFailed":
			return fmt.Errorf("%w (%s)", ErrNotLoaded, msg)
		case "org.freedesktop.DBus.Error.AccessDenied", "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired",
			"org.freedesktop.DBus.Error.AuthFailed":
			return fmt.Errorf("%w (%s)", ErrPermission, msg)
		}
	}
	return err
}

// JobError reports a job that ended other than "done".
type JobError struct {
	Op     string // start, stop
	Unit   string
	Result string // canceled, timeout, failed, dependency, skipped
	State  State
}

func (e *JobError) Error() string {
	s := fmt.Sprintf("%s job for %s ended with %q", e.Op, e.Unit, e.Result)
	if e.State.Result != "" && e.State.Result != "success" {
		s += fmt.Sprintf(" (unit result %s", e.State.Result)
		// start-limit-hit: the manager did not run the program, whose
		// last exit is the previous instance's.
		if how := e.State.Ended(); how != "" && e.State.Result != "start-limit-hit" {
			s += ", " + how
		}
		s += ")"
	}
	return s
}
