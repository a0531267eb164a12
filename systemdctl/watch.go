package systemdctl

import (
	"context"
	"strings"
	"sync"

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

	mu     sync.Mutex
	state  State
	jobs   map[uint32]string // finished job id → result
	notify chan struct{}     // closed and replaced on every change
	err    error             // no signals will come
}

// Watch starts following a unit. Call it before acting on the unit, so that
// no change is missed; Close it when done.
func (m *Manager) Watch(unit string) *Watch {
	w := &Watch{m: m, path: unitPath(unit), unit: unit, jobs: map[uint32]string{}, notify: make(chan struct{})}
	w.state.Unit = unit
	m.mu.Lock()
	if m.watches[w.path] == nil {
		m.watches[w.path] = map[*Watch]struct{}{}
	}
	m.watches[w.path][w] = struct{}{}
	m.mu.Unlock()
	w.err = m.subscribe()
	return w
}

// Close stops following.
func (w *Watch) Close() {
	w.m.mu.Lock()
	delete(w.m.watches[w.path], w)
	if len(w.m.watches[w.path]) == 0 {
		delete(w.m.watches, w.path)
	}
	w.m.mu.Unlock()
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
	close(w.notify)
	w.notify = make(chan struct{})
	w.mu.Unlock()
}

// seed folds properties read by a call into the state, unless the unit is
// gone: then the call loaded a stub whose zeros would hide what the
// signals reported.
func (w *Watch) seed(props map[string]dbus.Variant) {
	if v, ok := props["LoadState"]; ok && v.Value() != "loaded" && w.state.LoadState == "loaded" {
		return
	}
	w.update(func() { w.state.apply(props) })
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
	if w.err != nil {
		return w.State(), w.err
	}
	for {
		w.mu.Lock()
		st, ok, ch := w.state, cond(w.state, w.jobs), w.notify
		w.mu.Unlock()
		if ok {
			return st, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return st, ctx.Err()
		}
	}
}

// WaitJob blocks until job id has finished and returns its result.
func (w *Watch) WaitJob(ctx context.Context, id uint32) (string, State, error) {
	st, err := w.Wait(ctx, func(_ State, jobs map[uint32]string) bool { _, ok := jobs[id]; return ok })
	w.mu.Lock()
	res := w.jobs[id]
	w.mu.Unlock()
	return res, st, err
}

// route hands each signal to the watches of its unit. It must never block on
// a watch: godbus reorders signals when a reader falls behind.
func (m *Manager) route() {
	for s := range m.signals {
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
			m.each(s.Path, func(w *Watch) { w.update(func() { w.state.apply(changed) }) })
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
					w.jobs[id] = result
					if w.state.Job == id {
						w.state.Job = 0
					}
				})
			})
		}
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
