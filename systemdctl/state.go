package systemdctl

import (
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/units"
)

// State is what systemd says about a unit, gathered from its Unit and
// Service interfaces (by GetAll or by PropertiesChanged).
type State struct {
	Unit         string
	LoadState    string
	ActiveState  string
	SubState     string
	Result       string
	Description  string
	MainPID      uint32
	InvocationID string
	NRestarts    uint32
	// Job is the id of the unit's pending job, 0 if none.
	Job uint32
	// ExecMainCode is a CLD_* code (1 exited, 2 killed, 3 dumped), with
	// ExecMainStatus the exit status or the signal.
	ExecMainCode   int32
	ExecMainStatus int32
	ExecMainStart  time.Time
	ExecMainExit   time.Time
	StateChange    time.Time
	// RestartUSec is the delay of automatic restarts (the first one, where
	// it grows); RestartUSecNext the delay of the next (systemd 254+, 0
	// where the manager has none).
	RestartUSec, RestartUSecNext uint64
	// MemoryCurrent, CPUUsageNSec and TasksCurrent are max uint64 when
	// systemd does not account them, or (List, Details) they were not read.
	MemoryCurrent uint64
	CPUUsageNSec  uint64
	TasksCurrent  uint64
	// FragmentPath is the unit file the manager loaded the unit from;
	// Transient says the unit was made over D-Bus (its file is then the
	// manager's own, in a transient folder, removed when it unloads).
	FragmentPath string
	Transient    bool
	// NamedBy: the loaded units whose dependencies name this one
	// (Manager.NamedBy).
	NamedBy []string
	// Gone: when read again (after a reconnect, or by Refresh) the unit was
	// no longer there; how it ended is what was seen before, if anything.
	Gone bool
}

// Loaded says whether systemd has the unit in memory: loaded, loaded with
// a problem (bad-setting, error, masked), or running on although its unit
// file was removed (not-found, yet active).
func (s State) Loaded() bool {
	switch s.LoadState {
	case "":
		return false
	case "not-found":
		return s.ActiveState != "" && s.ActiveState != "inactive"
	}
	return true
}

// Running says whether the unit is active or on its way there (including a
// pending automatic restart).
func (s State) Running() bool {
	switch s.ActiveState {
	case "active", "activating", "reloading", "deactivating":
		return true
	}
	return false
}

// Over says the run is over: inactive or failed, no job pending, and how
// the main process ended recorded (systemd sends that before it collects
// the unit). The shape of a Watch condition.
func Over(s State, _ map[uint32]string) bool {
	return (s.ActiveState == "inactive" || s.ActiveState == "failed") && s.Job == 0 && (s.ExecMainCode != 0 || s.Gone)
}

// EndedSince returns a Watch condition that holds once the instance seen
// running in start is no longer: its main process ended or was replaced,
// the unit left the active states, or it waits for an automatic restart.
// With Restart= a dead program goes to auto-restart (activating), never
// through a state Over holds for long.
func EndedSince(start State) func(State, map[uint32]string) bool {
	return func(s State, _ map[uint32]string) bool {
		return !s.Running() || s.SubState == "auto-restart" || s.NRestarts != start.NRestarts ||
			start.MainPID != 0 && s.MainPID != start.MainPID ||
			start.InvocationID != "" && s.InvocationID != start.InvocationID
	}
}

// Exited reports how the main process ended, if it did.
func (s State) Exited() (code int, sig unix.Signal, ok bool) {
	switch s.ExecMainCode {
	case 1: // CLD_EXITED
		return int(s.ExecMainStatus), 0, true
	case 2, 3: // CLD_KILLED, CLD_DUMPED
		return 0, unix.Signal(s.ExecMainStatus), true
	}
	return 0, 0, false
}

// RestartAt is when the manager restarts the unit by itself: it waits
// its restart delay from the moment the main process ended (SubState
// auto-restart). Zero when it is not waiting, or when what it waits from
// was not read (StateChangeTimestamp, RestartUSec).
func (s State) RestartAt() time.Time {
	if s.SubState != "auto-restart" || s.StateChange.IsZero() {
		return time.Time{}
	}
	delay := s.RestartUSec
	if s.RestartUSecNext != 0 {
		delay = s.RestartUSecNext
	}
	return s.StateChange.Add(time.Duration(delay) * time.Microsecond)
}

// Exit is how the main process ended in $EXIT_CODE and $EXIT_STATUS's
// words (systemd.exec(5)): exited and the status, or killed or dumped and
// the signal's name without SIG; ok is false if it has not.
func (s State) Exit() (code, status string, ok bool) {
	c, sig, ok := s.Exited()
	switch {
	case !ok:
		return "", "", false
	case sig != 0:
		code = "killed"
		if s.ExecMainCode == 3 {
			code = "dumped"
		}
		return code, strings.TrimPrefix(unix.SignalName(sig), "SIG"), true
	}
	return "exited", strconv.Itoa(c), true
}

// SetExit sets how the main process ended from $EXIT_CODE and
// $EXIT_STATUS's words, Exit's inverse, and says whether it could.
func (s *State) SetExit(code, status string) bool {
	var c, st int32
	switch code {
	case "exited":
		n, err := strconv.Atoi(status)
		if err != nil {
			return false
		}
		c, st = 1, int32(n)
	case "killed", "dumped":
		sig := unix.SignalNum("SIG" + status)
		if sig == 0 {
			return false
		}
		c, st = 2, int32(sig)
		if code == "dumped" {
			c = 3
		}
	default:
		return false
	}
	s.ExecMainCode, s.ExecMainStatus = c, st
	return true
}

// Ended describes how the main process ended: "exit status 3", "killed by
// SIGKILL", or "" if it has not; units.ExitRecord.String renders it, as
// every other "how it ended". The unit's result is not part of it (see
// units.Ended for that).
func (s State) Ended() string {
	code, status, ok := s.Exit()
	if !ok {
		return ""
	}
	return units.Ended("", code, status).String()
}

// apply folds changed properties into s.
func (s *State) apply(props map[string]dbus.Variant) {
	for k, v := range props {
		s.applyOne(k, v)
	}
}

// applyOne folds one property into s.
func (s *State) applyOne(k string, v dbus.Variant) {
	switch x := v.Value().(type) {
	case string:
		switch k {
		case "LoadState":
			s.LoadState = x
		case "ActiveState":
			s.ActiveState = x
		case "SubState":
			s.SubState = x
		case "Result":
			s.Result = x
		case "Description":
			s.Description = x
		case "Id":
			s.Unit = x
		case "FragmentPath":
			s.FragmentPath = x
		}
	case bool:
		if k == "Transient" {
			s.Transient = x
		}
	case uint32:
		switch k {
		case "MainPID":
			s.MainPID = x
		case "NRestarts":
			s.NRestarts = x
		}
	case int32:
		switch k {
		case "ExecMainCode":
			s.ExecMainCode = x
		case "ExecMainStatus":
			s.ExecMainStatus = x
		}
	case uint64:
		switch k {
		case "ExecMainStartTimestamp":
			s.ExecMainStart = usec(x)
		case "ExecMainExitTimestamp":
			s.ExecMainExit = usec(x)
		case "MemoryCurrent":
			s.MemoryCurrent = x
		case "CPUUsageNSec":
			s.CPUUsageNSec = x
		case "TasksCurrent":
			s.TasksCurrent = x
		case "StateChangeTimestamp":
			s.StateChange = usec(x)
		case "RestartUSec":
			s.RestartUSec = x
		case "RestartUSecNext":
			s.RestartUSecNext = x
		}
	case []byte:
		if k == "InvocationID" {
			s.InvocationID = hex.EncodeToString(x)
		}
	case []any:
		// Job is (uo): id and path; (0, "/") when none.
		if k == "Job" && len(x) == 2 {
			if id, ok := x[0].(uint32); ok {
				s.Job = id
			}
		}
	case []string:
		switch k {
		case "WantedBy", "RequiredBy", "Before":
			s.NamedBy = append(s.NamedBy, x...)
		}
	case [][]any:
		if k == "ExecStart" && len(x) == 1 {
			s.applyExecStart(x[0])
		}
	}
}

// applyExecStart takes the main process's runtime from an ExecStart entry,
// a(sasbttttuii): path, argv, ignore-failure, start realtime and monotonic,
// exit realtime and monotonic, pid, code, status. For Type=exec its
// command is the main process.
func (s *State) applyExecStart(e []any) {
	if len(e) != 10 {
		return
	}
	start, _ := e[3].(uint64)
	exit, _ := e[5].(uint64)
	pid, _ := e[7].(uint32)
	code, _ := e[8].(int32)
	status, _ := e[9].(int32)
	s.ExecMainStart, s.ExecMainExit = usec(start), usec(exit)
	if exit == 0 {
		s.MainPID = pid
	}
	if code != 0 {
		s.ExecMainCode, s.ExecMainStatus = code, status
	}
}

func usec(u uint64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.UnixMicro(int64(u))
}
