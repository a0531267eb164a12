package systemdctl

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"
)

// unitProps are what Unit reads beyond ListUnitsByNames.
var unitProps = []string{"MainPID", "InvocationID", "Result", "ExecMainCode", "ExecMainStatus", "NRestarts"}

// Unit reads a unit's state: what ListUnitsByNames tells, and the main
// process's pid, invocation and how it last ended. A unit systemd does not
// know has LoadState "not-found" (no error).
func (m *Manager) Unit(ctx context.Context, unit string) (State, error) {
	st, err := m.Brief(ctx, unit)
	if err != nil || !st.Loaded() {
		return st, err
	}
	one := []State{st}
	err = m.getProps(ctx, one, []dbus.ObjectPath{unitPath(unit)}, func(int) []string { return unitProps })
	return one[0], err
}

// Crashpoint, if set, is called at named points between D-Bus calls
// ("stop-enqueued", "start-enqueued"); tests use it to kill runctl
// there, or to hold it there while they act on the manager.
var Crashpoint = func(point string) {}

// StartTransientWatch creates and starts a transient unit and waits for its
// start job (with Type=exec, "done" means the program was executed); the
// unit's Watch it returns stays open, following the new instance from
// before it existed. made, if not nil, runs once the unit exists, while
// the start job runs.
func (m *Manager) StartTransientWatch(ctx context.Context, unit string, props []sd.Property, made func()) (State, *Watch, error) {
	return m.startWatch(ctx, unit, made, func() (uint32, error) {
		var aux []struct {
			Name  string
			Props []sd.Property
		}
		return m.enqueue(ctx, "StartTransientUnit", unit, "fail", props, aux)
	})
}

// StartWatch starts a unit systemd loads from its unit file (an enabled
// run) and waits for the start job, leaving the Watch open.
func (m *Manager) StartWatch(ctx context.Context, unit string) (State, *Watch, error) {
	return m.startWatch(ctx, unit, nil, func() (uint32, error) {
		return m.enqueue(ctx, "StartUnit", unit, "replace")
	})
}

// Origin reads where the manager loaded a unit from: FragmentPath and
// Transient, besides what Brief tells.
func (m *Manager) Origin(ctx context.Context, unit string) (State, error) {
	st, err := m.Brief(ctx, unit)
	if err != nil || !st.Loaded() {
		return st, err
	}
	one := []State{st}
	err = m.getProps(ctx, one, []dbus.ObjectPath{unitPath(unit)}, func(int) []string { return []string{"FragmentPath", "Transient"} })
	return one[0], err
}

// NamedBy reads which loaded units name unit in their dependencies
// (WantedBy=, RequiredBy=, Before=): while they are loaded, the manager
// keeps unit loaded too, as it was made, even once it stopped.
func (m *Manager) NamedBy(ctx context.Context, unit string) ([]string, error) {
	one := []State{{Unit: unit}}
	err := m.getProps(ctx, one, []dbus.ObjectPath{unitPath(unit)}, func(int) []string { return []string{"WantedBy", "RequiredBy", "Before"} })
	return one[0].NamedBy, err
}

// enqueue calls a manager method that queues a job and returns its id.
func (m *Manager) enqueue(ctx context.Context, method string, args ...any) (uint32, error) {
	var job dbus.ObjectPath
	if err := m.call(ctx, method, []any{&job}, args...); err != nil {
		return 0, err
	}
	return jobID(job)
}

func jobID(job dbus.ObjectPath) (uint32, error) {
	id, err := strconv.ParseUint(path.Base(string(job)), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("systemd returned the job %q, not a job path", job)
	}
	return uint32(id), nil
}

func (m *Manager) startWatch(ctx context.Context, unit string, made func(), enqueue func() (uint32, error)) (State, *Watch, error) {
	w, err := m.Watch(ctx, unit)
	if err != nil {
		return State{Unit: unit}, w, err
	}
	heard := w.heardOf()
	var id uint32
	err = m.once(ctx, func() (err error) {
		id, err = enqueue()
		return err
	})
	var taken State
	if dropped(err) || away(err) {
		// Not sent again blindly: the start may have been enqueued.
		id, taken, err = m.resolveStart(ctx, w, unit, heard, err, enqueue)
	}
	if err != nil {
		return State{Unit: unit}, w, wrap(err, "")
	}
	Crashpoint("start-enqueued")
	if made != nil {
		done := make(chan struct{})
		go func() {
			defer close(done)
			made()
		}()
		defer func() { <-done }()
	}
	var (
		res string
		st  State
	)
	if id != 0 {
		res, st, err = w.WaitJob(ctx, id, "start")
		if err != nil {
			return st, w, err
		}
	} else {
		// Taken by a manager that went away before it answered, and
		// running.
		w.base(taken)
		st, res = w.State(), "done"
	}
	if st.Running() && (st.MainPID == 0 || st.InvocationID == "") {
		// Not seen in the signals yet; a unit already gone has nothing more
		// to tell (and reading it would load an empty stub).
		one := []State{{}}
		if err := m.getProps(ctx, one, []dbus.ObjectPath{unitPath(unit)}, func(int) []string { return []string{"MainPID", "InvocationID"} }); err == nil {
			w.update(func() {
				if w.state.MainPID == 0 {
					w.state.MainPID = one[0].MainPID
				}
				if w.state.InvocationID == "" {
					w.state.InvocationID = one[0].InvocationID
				}
			})
			st = w.State()
		}
	}
	if res != "done" {
		return st, w, &JobError{Op: "start", Unit: unit, Result: res, State: st}
	}
	return st, w, nil
}

// resolveStart finds out, once the manager is back, whether it took a
// start (enqueue) it went away before answering (gone). A unit of the name
// with a start job took it: the job is returned, to follow; one running
// without a job took it too, and is returned with job 0. Otherwise the
// start is sent again, once, and gets the answer the first one would have
// had: a job, or UnitExists for a unit still loaded (an old instance the
// manager had not unloaded yet, as a reexec found one in 1 of ~120
// restarts), which the caller resolves by observing as usual. Only a
// manager that holds no unit of the name although the Watch heard of it
// since the start was sent (heard) is not asked again: the start may have
// run and ended meanwhile.
func (m *Manager) resolveStart(ctx context.Context, w *Watch, unit string, heard uint64, gone error, enqueue func() (uint32, error)) (uint32, State, error) {
	unsure := func(err error) error { return fmt.Errorf("%w; runctl status shows whether it started", err) }
	var list []sd.UnitStatus
	if err := m.again(ctx, func() error { return m.call(ctx, "ListUnitsByNames", []any{&list}, []string{unit}) }); err != nil {
		return 0, State{Unit: unit}, unsure(gone)
	}
	st := brief(unit, list)
	switch {
	case st.Loaded() && st.Job != 0 && list[0].JobType == "start":
		return st.Job, st, nil
	case st.Loaded() && st.Job != 0:
		return 0, st, unsure(gone) // another job than a start: not ours to follow
	case st.Loaded() && st.Running():
		return 0, st, nil
	case !st.Loaded() && w.heardOf() != heard:
		return 0, st, unsure(gone)
	}
	var id uint32
	err := m.once(ctx, func() (err error) {
		id, err = enqueue()
		return err
	})
	if dropped(err) || away(err) {
		return 0, st, unsure(err)
	}
	return id, st, err
}

// Reload makes the manager read unit files again (daemon-reload).
func (m *Manager) Reload(ctx context.Context) error {
	// Asked again on a connection the manager dropped (a daemon-reexec
	// meanwhile): a reload twice is a reload.
	return wrap(m.again(ctx, func() error { return m.call(ctx, "Reload", nil) }), "daemon-reload")
}

// Enable links unit files into their [Install] targets, as systemctl enable.
func (m *Manager) Enable(ctx context.Context, paths ...string) error {
	var (
		carries bool
		changes []unitFileChange
	)
	err := m.again(ctx, func() error { return m.call(ctx, "EnableUnitFiles", []any{&carries, &changes}, paths, false, true) })
	return wrap(err, "")
}

// UnitPath lists the folders the manager loads unit files from, highest
// priority first.
func (m *Manager) UnitPath(ctx context.Context) ([]string, error) {
	var v dbus.Variant
	err := m.again(ctx, func() error {
		return m.bus().Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
			CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Manager", "UnitPath").Store(&v)
	})
	if err != nil {
		return nil, wrap(err, "systemd did not say its unit folders")
	}
	paths, ok := v.Value().([]string)
	if !ok {
		return nil, fmt.Errorf("systemd's UnitPath is %s, not a list of folders", v.Signature())
	}
	return paths, nil
}

// NeedsReload says whether the manager holds an older version of the
// unit's file than the one on disk (NeedDaemonReload).
func (m *Manager) NeedsReload(ctx context.Context, unit string) (bool, error) {
	var v dbus.Variant
	err := m.again(ctx, func() error {
		return m.bus().Object("org.freedesktop.systemd1", unitPath(unit)).
			CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Unit", "NeedDaemonReload").Store(&v)
	})
	if err != nil {
		return false, wrap(err, "systemd did not say whether "+unit+" needs a daemon-reload")
	}
	need, _ := v.Value().(bool)
	return need, nil
}

// Disable removes the links Enable made.
func (m *Manager) Disable(ctx context.Context, units ...string) error {
	var changes []unitFileChange
	err := m.again(ctx, func() error { return m.call(ctx, "DisableUnitFiles", []any{&changes}, units, false) })
	return wrap(err, "")
}

// unitFileChange is one change EnableUnitFiles or DisableUnitFiles made:
// type, file name, destination.
type unitFileChange struct {
	Type, Filename, Destination string
}

// StopOptions tune Stop.
type StopOptions struct {
	// Timeout after which the run's processes get SIGKILL; 0 leaves it to
	// the unit's own TimeoutStopSec.
	Timeout time.Duration
	// Force sends SIGKILL to every process at once.
	Force bool
}

// Stopped is how a stop ended.
type Stopped struct {
	// Before is the state when the stop began, After when it finished.
	Before, After State
	// Escalated is set when SIGTERM was not enough and SIGKILL was sent.
	Escalated bool
	Took      time.Duration
}

// Stop stops a unit and returns once it is inactive, which for systemd means
// every process of its cgroup is gone. A unit that ends failed is reset, so
// failed runs do not pile up. A unit that is not running gives ErrNotLoaded
// or the state it is in with Before.Running() false.
func (m *Manager) Stop(ctx context.Context, unit string, opt StopOptions) (Stopped, error) {
	w, err := m.Watch(ctx, unit)
	if err != nil {
		w.Close()
		return Stopped{}, err
	}
	defer w.Close()
	var (
		before State
		id     uint32
	)
	// Timed from before the StopUnit that briefAndStop sends with its
	// read: the unit may be signalled before that reply is read.
	start := time.Now()
	if opt.Force {
		before, err = m.Brief(ctx, unit) // SIGKILL first, if it runs
	} else {
		before, id, err = m.briefAndStop(ctx, unit)
	}
	if err != nil {
		return Stopped{Before: before, After: before}, wrap(err, "")
	}
	if before.ActiveState == "failed" {
		// How it ended is all a stop of a failed unit can report.
		one := []State{before}
		if err := m.getProps(ctx, one, []dbus.ObjectPath{unitPath(unit)}, func(int) []string { return []string{"Result", "ExecMainCode", "ExecMainStatus"} }); err != nil {
			return Stopped{}, err
		}
		before = one[0]
	}
	w.base(before)
	out := Stopped{Before: before, After: before}
	if !before.Loaded() {
		return out, ErrNotLoaded
	}
	if opt.Force {
		if before.Running() {
			if err := m.Kill(ctx, unit, unix.SIGKILL); err != nil {
				return out, err
			}
			out.Escalated = true
		}
		// The stop job also cancels a pending automatic restart.
		err = m.again(ctx, func() (err error) {
			id, err = m.enqueue(ctx, "StopUnit", unit, "replace") // a second stop joins the first
			return err
		})
		if err != nil {
			return out, wrap(err, "")
		}
	}
	Crashpoint("stop-enqueued")
	var escalate <-chan time.Time
	if opt.Timeout > 0 && !opt.Force {
		t := time.NewTimer(opt.Timeout)
		defer t.Stop()
		escalate = t.C
	}
	waitCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		res string
		st  State
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, st, err := w.WaitJob(waitCtx, id, "stop")
		done <- result{res, st, err}
	}()
	for {
		select {
		case <-escalate:
			escalate = nil
			err := m.Kill(ctx, unit, unix.SIGKILL)
			switch {
			case errors.Is(err, ErrPermission):
				// Not allowed to signal (the runctl group): systemd
				// escalates itself at the unit's TimeoutStopSec.
			case err != nil && !errors.Is(err, ErrNotLoaded):
				return out, err
			default:
				out.Escalated = true
			}
			continue
		case r := <-done:
			out.After, out.Took = r.st, time.Since(start)
			if r.err != nil {
				return out, r.err
			}
			if r.st.Result == "timeout" {
				out.Escalated = true // systemd's own TimeoutStopSec fired
			}
			if r.res != "done" {
				return out, &JobError{Op: "stop", Unit: unit, Result: r.res, State: r.st}
			}
		}
		break
	}
	if out.After.ActiveState == "failed" {
		if err := m.ResetFailed(ctx, unit); err != nil && !errors.Is(err, ErrNotLoaded) {
			return out, err
		}
	}
	return out, nil
}

// Kill sends sig to every process of the unit; no job, returns at once.
// SIGKILL is asked again if the manager went away before it answered (a
// process cannot be killed twice); another signal is not, since a program
// may read a second one as more than the first (Ctrl-C twice).
func (m *Manager) Kill(ctx context.Context, unit string, sig unix.Signal) error {
	kill := func() error { return m.call(ctx, "KillUnit", nil, unit, string(sd.All), int32(sig)) }
	if sig == unix.SIGKILL {
		return wrap(m.again(ctx, kill), "kill")
	}
	return wrap(m.once(ctx, kill), "kill")
}

// ResetFailed clears a unit's failed state, unloading a failed transient unit.
func (m *Manager) ResetFailed(ctx context.Context, unit string) error {
	return wrap(m.again(ctx, func() error { return m.call(ctx, "ResetFailedUnit", nil, unit) }), "reset-failed")
}

// Brief reads only what ListUnitsByNames tells — load, active and sub
// state, pending job — in one small reply: enough to decide whether a run
// is running.
func (m *Manager) Brief(ctx context.Context, unit string) (State, error) {
	var list []sd.UnitStatus
	err := m.again(ctx, func() error {
		return m.call(ctx, "ListUnitsByNames", []any{&list}, []string{unit})
	})
	if err != nil {
		return State{Unit: unit}, wrap(err, "cannot read the state of "+unit)
	}
	return brief(unit, list), nil
}

// brief is the state ListUnitsByNames gave of unit.
func brief(unit string, list []sd.UnitStatus) State {
	st := State{Unit: unit, LoadState: "not-found", ActiveState: "inactive"}
	if len(list) == 1 {
		u := list[0]
		st.LoadState, st.ActiveState, st.SubState, st.Description, st.Job = u.LoadState, u.ActiveState, u.SubState, u.Description, u.JobId
	}
	return st
}

// briefAndStop reads a unit's state and enqueues its stop in one round
// trip: the manager answers in order, so the state is the one the stop
// found. A unit systemd does not know gives its state and no job.
func (m *Manager) briefAndStop(ctx context.Context, unit string) (before State, id uint32, err error) {
	err = m.again(ctx, func() error {
		obj := m.systemd()
		list := obj.GoWithContext(ctx, "org.freedesktop.systemd1.Manager.ListUnitsByNames", 0, nil, []string{unit})
		stop := obj.GoWithContext(ctx, "org.freedesktop.systemd1.Manager.StopUnit", 0, nil, unit, "replace") // a second stop joins the first
		var units []sd.UnitStatus
		if err := (<-list.Done).Store(&units); err != nil {
			<-stop.Done
			return err
		}
		before = brief(unit, units)
		var job dbus.ObjectPath
		if err := (<-stop.Done).Store(&job); err != nil {
			if !before.Loaded() && !dropped(err) {
				return nil // NoSuchUnit: nothing to stop
			}
			return err
		}
		id, err = jobID(job)
		return err
	})
	return before, id, err
}

// ListProps says which properties List reads for a unit in a given active
// state, besides what ListUnitsByPatterns returns: what a listing shows
// of a running unit (pid, since when) differs from a failed one's (how it
// ended), and every Get is a round trip's worth of work for systemd.
type ListProps func(activeState string) []string

// BriefProps are what `runctl ls` shows. ExecStart carries the runtime of
// the command it started — pid, start and exit time, exit code and status —
// so one read of it serves for four ExecMain* properties. The restart count
// is read only of a unit that systemd restarts by itself (restarts): it is
// 0 for every other.
func BriefProps(activeState string, restarts bool) []string {
	var props []string
	switch activeState {
	case "active", "reloading", "deactivating":
		props = []string{"ExecStart"}
	case "failed":
		props = []string{"ExecStart", "Result"}
	default:
		props = []string{"MainPID", "Result"}
	}
	if restarts {
		props = append(props, "NRestarts")
	}
	return props
}

// List returns the state of every loaded unit matching the patterns: one
// ListUnitsByPatterns, then props of each unit by pipelined Get calls over
// the one connection. Reading whole interfaces instead costs ~300 values per
// unit to encode and decode: 40x slower at 1,000 units.
// props gives the properties to read of a unit, as ListUnitsByPatterns
// described it; it may fill in what it knows from elsewhere.
func (m *Manager) List(ctx context.Context, props func(*State) []string, patterns ...string) ([]State, error) {
	var list []sd.UnitStatus
	err := m.again(ctx, func() error {
		return m.call(ctx, "ListUnitsByPatterns", []any{&list}, []string{}, patterns)
	})
	if err != nil {
		return nil, wrap(err, "cannot list units")
	}
	states := make([]State, len(list))
	for i, u := range list {
		st := &states[i]
		st.Unit, st.LoadState, st.ActiveState, st.SubState, st.Description = u.Name, u.LoadState, u.ActiveState, u.SubState, u.Description
		st.Job = u.JobId
		st.MemoryCurrent, st.CPUUsageNSec, st.TasksCurrent = unread, unread, unread
	}
	paths := make([]dbus.ObjectPath, len(list))
	for i, u := range list {
		paths[i] = u.Path
	}
	if err := m.getProps(ctx, states, paths, func(i int) []string { return props(&states[i]) }); err != nil {
		return nil, err
	}
	// A daemon-reload forgets ExecStart's runtime: ask those few directly.
	var again []int
	for i, st := range states {
		if st.ActiveState == "active" && st.MainPID == 0 {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		sub := make([]State, len(again))
		subPaths := make([]dbus.ObjectPath, len(again))
		for j, i := range again {
			sub[j], subPaths[j] = states[i], paths[i]
		}
		if err := m.getProps(ctx, sub, subPaths, func(int) []string { return []string{"MainPID", "ExecMainStartTimestamp"} }); err != nil {
			return nil, err
		}
		for j, i := range again {
			states[i] = sub[j]
		}
	}
	return states, nil
}

// unread is what State's MemoryCurrent, CPUUsageNSec and TasksCurrent hold
// when they were not read: systemd's own "not accounted".
const unread = ^uint64(0)

// UsageOf reads MemoryCurrent and CPUUsageNSec of loaded units with
// pipelined Gets, by unit name: for those whose control group ReadUsage
// did not find.
func (m *Manager) UsageOf(ctx context.Context, units []string) (map[string]Usage, error) {
	states := make([]State, len(units))
	paths := make([]dbus.ObjectPath, len(units))
	for i, u := range units {
		states[i], paths[i] = State{Unit: u, MemoryCurrent: unread, CPUUsageNSec: unread}, unitPath(u)
	}
	if err := m.getProps(ctx, states, paths, func(int) []string { return []string{"MemoryCurrent", "CPUUsageNSec"} }); err != nil {
		return nil, err
	}
	out := make(map[string]Usage, len(units))
	for _, st := range states {
		out[st.Unit] = Usage{MemoryBytes: st.MemoryCurrent, CPUNSec: st.CPUUsageNSec}
	}
	return out, nil
}

// getProps reads props(i) of each unit i with pipelined Get calls. They go
// out without a context: godbus would start a goroutine per call to watch
// it; the caller's deadline still ends the wait. A property the manager
// does not have stays unset; Gets the manager left unanswered (it was
// re-executing) are sent again once it is back.
func (m *Manager) getProps(ctx context.Context, states []State, paths []dbus.ObjectPath, props func(i int) []string) error {
	type get struct {
		i    int
		name string
	}
	n := 0
	for i := range states {
		n += len(props(i))
	}
	gets := make([]get, 0, n)
	for i := range states {
		for _, p := range props(i) {
			gets = append(gets, get{i, p})
		}
	}
	if len(gets) == 0 {
		return nil
	}
	err := m.again(ctx, func() error {
		bus := m.bus()
		calls := make([]*dbus.Call, len(gets))
		for j, g := range gets {
			calls[j] = bus.Object("org.freedesktop.systemd1", paths[g.i]).Go("org.freedesktop.DBus.Properties.Get", 0, nil, propInterface(g.name), g.name)
		}
		// The manager answers in order: waiting for the last reply first,
		// this goroutine wakes about once, not once per reply.
		for j := range calls {
			select {
			case <-calls[(j+len(calls)-1)%len(calls)].Done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var (
			left []get
			last error
		)
		for j, c := range calls {
			var v dbus.Variant
			switch err := c.Store(&v); {
			case dropped(err) || away(err):
				left, last = append(left, gets[j]), err
			case err == nil:
				states[gets[j].i].applyOne(gets[j].name, v)
			}
			// Other errors: the unit went away meanwhile, or the manager
			// has no such property.
		}
		gets = left
		return last
	})
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("cannot read the properties of units: %w", err)
	}
	return err
}

// propInterface is the D-Bus interface a property of a service unit is on.
func propInterface(p string) string {
	switch p {
	case "MainPID", "ControlPID", "NRestarts", "Result", "ExecMainCode", "ExecMainStatus", "ExecStart",
		"ExecMainStartTimestamp", "ExecMainExitTimestamp", "ExecMainPID", "MemoryCurrent",
		"CPUUsageNSec", "TasksCurrent", "StatusText", "RestartUSec", "RestartUSecNext":
		return ifaceService
	}
	return ifaceUnit
}

// RestartProps are what State.RestartAt reads, and how the program last
// ended. RestartUSecNext is
// systemd 254's: older managers answer its Get with an error, and it stays 0.
var RestartProps = []string{"StateChangeTimestamp", "RestartUSec", "RestartUSecNext", "ExecMainCode", "ExecMainStatus"}

// StatusProps are what `runctl status` shows of a unit in a given state:
// resources of a running one, how a stopped or failed one ended.
func StatusProps(activeState string) []string {
	switch activeState {
	case "activating":
		// Perhaps waiting to restart (State.RestartAt).
		return append(StatusProps("active"), RestartProps...)
	case "active", "reloading", "deactivating":
		return []string{"MainPID", "NRestarts", "ExecMainStartTimestamp", "MemoryCurrent", "CPUUsageNSec", "TasksCurrent", "InvocationID", "StateChangeTimestamp"}
	}
	return []string{"NRestarts", "Result", "ExecMainCode", "ExecMainStatus", "ExecMainExitTimestamp", "InvocationID", "StateChangeTimestamp"}
}

// Process is one process of a unit's cgroup.
type Process struct {
	PID     uint32 `json:"pid"`
	Command string `json:"command"`
}

// Details reads the state and processes of several units: one
// ListUnitsByNames, then props and GetUnitProcesses of every loaded one in
// pipelined calls.
func (m *Manager) Details(ctx context.Context, names []string, props ListProps) ([]State, [][]Process, error) {
	var list []sd.UnitStatus
	err := m.again(ctx, func() error {
		return m.call(ctx, "ListUnitsByNames", []any{&list}, names)
	})
	if err != nil {
		return nil, nil, wrap(err, "cannot read units")
	}
	states := make([]State, len(names))
	paths := make([]dbus.ObjectPath, len(names))
	for i, name := range names {
		states[i] = State{Unit: name, LoadState: "not-found", ActiveState: "inactive", MemoryCurrent: unread, CPUUsageNSec: unread, TasksCurrent: unread}
		paths[i] = unitPath(name)
		for _, u := range list {
			if u.Name == name {
				states[i].LoadState, states[i].ActiveState, states[i].SubState = u.LoadState, u.ActiveState, u.SubState
				states[i].Description, states[i].Job, paths[i] = u.Description, u.JobId, u.Path
			}
		}
	}
	// Only loaded units have anything to tell; reading others loads stubs.
	var idx []int
	for i := range states {
		if states[i].Loaded() {
			idx = append(idx, i)
		}
	}
	procCalls := make([]*dbus.Call, len(names))
	getProcs := func(i int) *dbus.Call {
		return m.bus().Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
			GoWithContext(ctx, "org.freedesktop.systemd1.Manager.GetUnitProcesses", 0, nil, names[i])
	}
	for _, i := range idx {
		procCalls[i] = getProcs(i)
	}
	loaded := make([]State, len(idx))
	loadedPaths := make([]dbus.ObjectPath, len(idx))
	for j, i := range idx {
		loaded[j], loadedPaths[j] = states[i], paths[i]
	}
	if err := m.getProps(ctx, loaded, loadedPaths, func(i int) []string { return props(loaded[i].ActiveState) }); err != nil {
		return nil, nil, err
	}
	procs := make([][]Process, len(names))
	left := idx
	err = m.again(ctx, func() error {
		var (
			retry []int
			last  error
		)
		for _, i := range left {
			if procCalls[i] == nil {
				procCalls[i] = getProcs(i) // unanswered by a manager that went away
			}
		}
		for _, i := range left {
			var raw []struct {
				CGroup  string
				PID     uint32
				Command string
			}
			err := (<-procCalls[i].Done).Store(&raw)
			if dropped(err) || away(err) {
				procCalls[i], retry, last = nil, append(retry, i), err
				continue
			}
			for _, p := range raw {
				procs[i] = append(procs[i], Process{p.PID, p.Command})
			}
		}
		left = retry
		return last
	})
	if err != nil {
		return nil, nil, wrap(err, "cannot read the processes of units")
	}
	for j, i := range idx {
		states[i] = loaded[j]
	}
	return states, procs, nil
}

// EnableLinger asks logind to start uid's manager at boot (loginctl
// enable-linger), over the system bus, without interactive authentication.
func EnableLinger(ctx context.Context, uid uint32) error {
	c, err := dbus.ConnectSystemBus()
	if err != nil {
		return err
	}
	defer c.Close()
	obj := c.Object("org.freedesktop.login1", "/org/freedesktop/login1")
	return obj.CallWithContext(ctx, "org.freedesktop.login1.Manager.SetUserLinger", 0, uid, true, false).Err
}
