package systemdctl

import (
	"context"
	"strings"
	"sync"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
)

const (
	unitPathPrefix = "/org/freedesktop/systemd1/unit/"
	ifaceUnit      = "org.freedesktop.systemd1.Unit"
	ifaceService   = "org.freedesktop.systemd1.Service"
)

func unitPath(name string) dbus.ObjectPath {
	return dbus.ObjectPath(unitPathPrefix + sd.PathBusEscape(name))
}

// Watch follows one unit through the manager's signals, in the order systemd
// sent them: property changes of its Unit and Service interfaces and the end
// of its jobs. systemd sends a unit's pending changes before the JobRemoved of
// its job, so when a job is seen done, the state already holds its outcome.
type Watch struct {
	m    *Manager
	path dbus.ObjectPath
	unit string

	mu      sync.Mutex
	state   State
	ended   State  // the last state seen with its main process's end
	changes uint64 // updates so far
	// heard counts the signals of the unit's state and jobs so far; not
	// UnitRemoved, which a mere read of a unit not loaded causes (the
	// manager makes a stub, then drops it).
	heard   uint64
	jobs    map[uint32]string // finished job id → result
	removed bool              // the manager unloaded the unit (UnitRemoved)
	notify  chan struct{}     // closed and replaced on every change
	lost    int               // generation of a connection that dropped, 0 if none
	dropped chan struct{}     // closed when a connection first dropped
	// leftovers: once its main process had ended, the manager signalled
	// what was left of the unit (stop-sigterm, final-sigterm, ...).
	leftovers bool
}

// Watch starts following a unit. Call it before acting on the unit, so that
// no change is missed; Close it when done (also after an error).
func (m *Manager) Watch(ctx context.Context, unit string) (*Watch, error) {
	w := &Watch{m: m, path: unitPath(unit), unit: unit, jobs: map[uint32]string{}, notify: make(chan struct{}), dropped: make(chan struct{})}
	w.state.Unit = unit
	m.mu.Lock()
	if m.watches[w.path] == nil {
		m.watches[w.path] = map[*Watch]struct{}{}
	}
	m.watches[w.path][w] = struct{}{}
	m.mu.Unlock()
	return w, m.subscribe(ctx)
}

// Close stops following. A nil Watch is closed already.
func (w *Watch) Close() {
	if w == nil {
		return
	}
	w.m.mu.Lock()
	delete(w.m.watches[w.path], w)
	if len(w.m.watches[w.path]) == 0 {
		delete(w.m.watches, w.path)
	}
	w.m.mu.Unlock()
}

// Dropped is closed once the manager has dropped the connection the watch
// followed (it does on daemon-reexec), as soon as runctl learns it, even
// while nothing waits on the watch: what the unit does until the watch
// resumes on a new connection goes unsignalled.
func (w *Watch) Dropped() <-chan struct{} { return w.dropped }

// Ended is the last state seen in which the unit's main process had ended
// (ExecMainCode set), zero if none: a Wait may wake past it, when a
// restart follows at once.
func (w *Watch) Ended() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ended
}

// State is the unit's state as last seen.
func (w *Watch) State() State {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.state
}

func (w *Watch) update(f func()) {
	w.mu.Lock()
	f()
	if w.state.ExecMainCode != 0 {
		w.ended = w.state
		switch w.state.SubState {
		case "stop-sigterm", "stop-sigkill", "final-sigterm", "final-sigkill":
			w.leftovers = true
		}
	}
	w.changes++
	close(w.notify)
	w.notify = make(chan struct{})
	w.mu.Unlock()
}

// heardOf is how many signals about the unit the watch has had.
func (w *Watch) heardOf() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.heard
}

// KilledLeftovers says whether, after its main process ended, the manager
// had to signal processes the unit left behind (a program that daemonized
// itself, or a child it did not wait for).
func (w *Watch) KilledLeftovers() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.leftovers
}

// base takes st as the state the signals change from, where they have not
// reported anything yet.
func (w *Watch) base(st State) {
	w.update(func() {
		if w.state.ActiveState == "" {
			jobs := w.state.Job
			w.state = st
			if jobs != 0 {
				w.state.Job = jobs
			}
		}
	})
}

// Wait blocks until cond holds for the state (checked at once and after
// every change), or ctx ends.
func (w *Watch) Wait(ctx context.Context, cond func(State, map[uint32]string) bool) (State, error) {
	return w.wait(ctx, cond, nil)
}

// wait is Wait; after a reconnect, resumed fixes up what the signals lost
// while no connection was there.
func (w *Watch) wait(ctx context.Context, cond func(State, map[uint32]string) bool, resumed func()) (State, error) {
	for {
		w.mu.Lock()
		st, ok, ch, lost := w.state, cond(w.state, w.jobs), w.notify, w.lost
		w.mu.Unlock()
		if ok {
			return st, nil
		}
		if lost != 0 {
			if err := w.resume(ctx, lost); err != nil {
				return st, err
			}
			if resumed != nil {
				resumed()
			}
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// WaitRemoved waits until the manager has unloaded the unit of one of ws
// since its Watch began, for at most limit, and says whether it has: a
// unit that something else still names stays loaded.
func WaitRemoved(ctx context.Context, limit time.Duration, ws ...*Watch) bool {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	done := make(chan bool, len(ws))
	for _, w := range ws {
		go func() { done <- w.waitRemoved(ctx) }()
	}
	return <-done
}

func (w *Watch) waitRemoved(ctx context.Context) bool {
	for {
		w.mu.Lock()
		removed, ch := w.removed, w.notify
		w.mu.Unlock()
		if removed {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

// resume reconnects after the manager dropped the connection (it does on
// daemon-reexec, as systemd-run --wait knows) and reads the unit's state
// anew, since its changes meanwhile were not signalled.
func (w *Watch) resume(ctx context.Context, gen int) error {
	if err := w.m.reconnect(ctx, gen); err != nil {
		return err
	}
	st, err := w.m.Unit(ctx, w.unit)
	if err != nil {
		return err
	}
	w.update(func() {
		w.state, w.lost = st, 0
		w.state.Gone = !st.Loaded()
	})
	return nil
}

// Refresh reads the unit's state from the manager and makes it the
// watch's. The manager changes a unit's state in steps it signals
// separately: with Restart=, a dead program's unit is "failed", no job,
// then "activating (auto-restart)" in the same breath. A reply comes after
// every signal of what the manager did before the call, so the state read
// is past such steps; signals still queued on their own connection may
// hold older steps, until the next Refresh. A unit gone meanwhile keeps
// what was seen of it, marked Gone; so does one that is not running, has
// no job, and whose read tells no end (it may have gone between the reads,
// leaving a stub), Gone if nothing was seen.
func (w *Watch) Refresh(ctx context.Context) (State, error) {
	w.mu.Lock()
	before := w.changes
	w.mu.Unlock()
	st, err := w.m.Unit(ctx, w.unit)
	if err != nil {
		return w.State(), err
	}
	w.update(func() {
		switch {
		case w.changes != before:
			// Signals came during the read: they are as new as it, or
			// newer, and what it says they will say too.
		case st.Loaded() && (st.Running() || st.ExecMainCode != 0 || st.Job != 0):
			w.state = st
		case st.Loaded():
			ended := w.state
			w.state = st
			w.state.ExecMainCode, w.state.ExecMainStatus, w.state.ExecMainExit = ended.ExecMainCode, ended.ExecMainStatus, ended.ExecMainExit
			if w.state.InvocationID == "" {
				w.state.InvocationID = ended.InvocationID
			}
			w.state.Gone = ended.ExecMainCode == 0
		default:
			w.state.LoadState, w.state.ActiveState, w.state.SubState, w.state.Job, w.state.Gone = st.LoadState, st.ActiveState, st.SubState, 0, true
		}
	})
	return w.State(), nil
}

// WaitJob blocks until job id, a start or stop job (kind), has finished and
// returns its result. If the connection dropped meanwhile and the job is no
// longer the unit's pending one, its JobRemoved was lost: the result is
// inferred from the unit's state.
func (w *Watch) WaitJob(ctx context.Context, id uint32, kind string) (string, State, error) {
	st, err := w.wait(ctx, func(_ State, jobs map[uint32]string) bool { _, ok := jobs[id]; return ok }, func() {
		w.update(func() {
			if _, ok := w.jobs[id]; ok || w.state.Job == id {
				return
			}
			w.jobs[id] = "done"
			if kind == "start" && !w.state.Running() {
				w.jobs[id] = "failed"
			}
		})
	})
	w.mu.Lock()
	res := w.jobs[id]
	w.mu.Unlock()
	return res, st, err
}

// route hands each signal of connection gen to the watches of its unit. It
// must never block on a watch: godbus reorders signals when a reader falls
// behind. When the connection ends, every watch learns it was lost.
func (m *Manager) route(signals chan *dbus.Signal, gen int) {
	defer func() {
		m.mu.Lock()
		var all []*Watch
		for _, ws := range m.watches {
			for w := range ws {
				all = append(all, w)
			}
		}
		m.mu.Unlock()
		for _, w := range all {
			w.update(func() {
				if !isClosed(w.dropped) {
					close(w.dropped)
				}
				w.lost = gen
			})
		}
	}()
	for s := range signals {
		switch s.Name {
		case "org.freedesktop.DBus.Properties.PropertiesChanged":
			if !strings.HasPrefix(string(s.Path), unitPathPrefix) || len(s.Body) < 2 {
				continue
			}
			iface, _ := s.Body[0].(string)
			changed, _ := s.Body[1].(map[string]dbus.Variant)
			if iface != ifaceUnit && iface != ifaceService {
				continue
			}
			m.each(s.Path, func(w *Watch) { w.update(func() { w.state.apply(changed); w.heard++ }) })
		case "org.freedesktop.systemd1.Manager.UnitRemoved":
			var (
				unit string
				path dbus.ObjectPath
			)
			if dbus.Store(s.Body, &unit, &path) != nil {
				continue
			}
			m.each(path, func(w *Watch) { w.update(func() { w.removed = true }) })
		case "org.freedesktop.systemd1.Manager.JobRemoved":
			var (
				id     uint32
				job    dbus.ObjectPath
				unit   string
				result string
			)
			if dbus.Store(s.Body, &id, &job, &unit, &result) != nil {
				continue
			}
			m.each(unitPath(unit), func(w *Watch) {
				w.update(func() {
					w.heard++
					w.jobs[id] = result
					if w.state.Job == id {
						w.state.Job = 0
					}
				})
			})
		}
	}
}

// isClosed says whether ch is closed.
func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (m *Manager) each(path dbus.ObjectPath, f func(*Watch)) {
	m.mu.Lock()
	ws := make([]*Watch, 0, len(m.watches[path]))
	for w := range m.watches[path] {
		ws = append(ws, w)
	}
	m.mu.Unlock()
	for _, w := range ws {
		f(w)
	}
}
