// Package systemdctl is how runctl talks to systemd: one long-lived D-Bus
// connection, transient units, jobs, and waits driven by the manager's signals.
package systemdctl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/godbus/dbus/v5"
)

// Scope says which manager a run lives in.
type Scope int

const (
	System Scope = iota
	User
)

func (s Scope) String() string {
	if s == User {
		return "user"
	}
	return "system"
}

// Options choose the manager and how to reach it.
type Options struct {
	Scope Scope
	// Bus, if set, is the path of a bus daemon's socket to use instead of
	// the usual ones, e.g. a sandbox's system bus seen from the host.
	Bus string
}

// Manager is a connection to one systemd manager. It survives the manager
// dropping it (daemon-reexec closes every client connection): calls and
// waits reconnect and resume from the unit's state.
type Manager struct {
	scope Scope
	dial  func() (*dbus.Conn, error) // the dial that worked, for reconnects
	// private: the manager's own socket, where it sends every signal to
	// every connection unasked. Through a bus, signals need match rules
	// and Subscribe.
	private bool

	connMu sync.Mutex
	conn   *dbus.Conn
	gen    int  // bumped on every reconnect
	subbed bool // this connection's signals are asked for
	closed bool
	// version is the manager's, read on connection versionGen (Version).
	version, versionGen int

	subMu sync.Mutex // one Subscribe at a time: a second one is refused

	mu      sync.Mutex
	watches map[dbus.ObjectPath]map[*Watch]struct{}
}

// Connect opens the connection. Root talks to the system manager over its
// private socket, which works without dbus-daemon; everyone else goes through
// the bus, where polkit decides.
func Connect(ctx context.Context, opts Options) (*Manager, error) {
	m := &Manager{scope: opts.Scope, watches: map[dbus.ObjectPath]map[*Watch]struct{}{}}
	type dialer struct {
		dial    func() (*dbus.Conn, error)
		private bool
	}
	var dials []dialer
	switch {
	case opts.Bus != "":
		dials = append(dials, dialer{func() (*dbus.Conn, error) { return busDial(opts.Bus) }, false})
	case opts.Scope == System:
		if os.Geteuid() == 0 {
			dials = append(dials, dialer{privateDial("/run/systemd/private"), true})
		}
		dials = append(dials, dialer{func() (*dbus.Conn, error) { return dbus.ConnectSystemBus() }, false})
	default:
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			dials = append(dials, dialer{privateDial(filepath.Join(rt, "systemd/private")), true})
		}
		dials = append(dials, dialer{func() (*dbus.Conn, error) { return dbus.ConnectSessionBus() }, false})
	}
	var errs []error
	for _, d := range dials {
		if err := m.open(d.dial); err != nil {
			errs = append(errs, err)
			continue
		}
		m.dial, m.private = d.dial, d.private
		return m, nil
	}
	return nil, connectError(opts.Scope, errors.Join(errs...))
}

// open dials and routes the new connection's signals through our own
// router: go-systemd's connection setup would ask a bus for JobRemoved
// (a call the private socket, having no bus driver, answers with an error)
// and its subscriber drops the Service interface's PropertiesChanged.
func (m *Manager) open(dial func() (*dbus.Conn, error)) error {
	c, err := dial()
	if err != nil {
		return err
	}
	signals := make(chan *dbus.Signal, 4096)
	c.Signal(signals)
	m.connMu.Lock()
	m.conn, m.subbed = c, false
	m.gen++
	gen := m.gen
	m.connMu.Unlock()
	go m.route(signals, gen)
	return nil
}

// bus is the current connection.
func (m *Manager) bus() *dbus.Conn {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return m.conn
}

// systemd is the manager object on the current connection.
func (m *Manager) systemd() dbus.BusObject {
	return m.bus().Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1")
}

// call calls a method of the manager's interface and stores its reply in
// ret.
func (m *Manager) call(ctx context.Context, method string, ret []any, args ...any) error {
	return m.systemd().CallWithContext(ctx, "org.freedesktop.systemd1.Manager."+method, 0, args...).Store(ret...)
}

// signalRules are the signals a Watch follows, as a bus's match rules.
var signalRules = []string{
	"type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'",
	"type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.systemd1.Manager',member='UnitRemoved'",
	"type='signal',sender='org.freedesktop.systemd1',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='/org/freedesktop/systemd1/unit'",
}

// subscribe makes sure the manager's signals reach this connection before
// a Watch relies on them. The private socket gets them all unasked; through
// a bus, once per connection, the bus is given match rules and the manager
// a Subscribe, in one round trip. A connection the manager dropped
// meanwhile is replaced, as for any other call.
func (m *Manager) subscribe(ctx context.Context) error {
	return wrap(m.again(ctx, func() error { return m.subscribeOnce(ctx) }), "cannot subscribe to systemd's signals")
}

func (m *Manager) subscribeOnce(ctx context.Context) error {
	if m.private {
		return nil
	}
	m.subMu.Lock()
	defer m.subMu.Unlock()
	m.connMu.Lock()
	c, done := m.conn, m.subbed
	m.connMu.Unlock()
	if done {
		return nil
	}
	var calls []*dbus.Call
	for _, rule := range signalRules {
		calls = append(calls, c.BusObject().GoWithContext(ctx, "org.freedesktop.DBus.AddMatch", 0, nil, rule))
	}
	calls = append(calls, c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
		GoWithContext(ctx, "org.freedesktop.systemd1.Manager.Subscribe", 0, nil))
	var errs []error
	for _, call := range calls {
		errs = append(errs, (<-call.Done).Err)
	}
	if err := errors.Join(errs...); err != nil {
		return err // a dropped connection among them: again reconnects
	}
	m.connMu.Lock()
	if m.conn == c {
		m.subbed = true
	}
	m.connMu.Unlock()
	return nil
}

// reconnect replaces a connection the manager dropped (generation gen),
// retrying while a re-executing manager is not listening yet.
func (m *Manager) reconnect(ctx context.Context, gen int) error {
	m.connMu.Lock()
	current, closed := m.gen, m.closed
	m.connMu.Unlock()
	if closed {
		return errors.New("the connection to systemd was closed")
	}
	if current != gen {
		return m.subscribeOnce(ctx) // another call already reconnected
	}
	deadline := time.Now().Add(30 * time.Second)
	delay := 10 * time.Millisecond
	for {
		err := m.open(m.dial)
		if err == nil {
			return m.subscribeOnce(ctx)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lost the connection to systemd and could not reconnect: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(2*delay, 500*time.Millisecond)
	}
}

// again runs f, a call that is safe to repeat; if the manager dropped the
// connection (daemon-reexec closes them all), it reconnects once and runs f
// again on the new connection.
func (m *Manager) again(ctx context.Context, f func() error) error {
	m.connMu.Lock()
	gen := m.gen
	m.connMu.Unlock()
	err := f()
	if !dropped(err) {
		return err
	}
	if rerr := m.reconnect(ctx, gen); rerr != nil {
		return rerr
	}
	return f()
}

// alive replaces a connection already known to be dropped, before a call
// that must not be repeated: nothing was sent on it yet.
func (m *Manager) alive(ctx context.Context) error {
	m.connMu.Lock()
	c, gen := m.conn, m.gen
	m.connMu.Unlock()
	if c.Connected() {
		return nil
	}
	return m.reconnect(ctx, gen)
}

// dropped says whether err means the connection is gone.
func dropped(err error) bool {
	return errors.Is(err, dbus.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// privateDial connects straight to a manager's private socket: EXTERNAL auth
// with our uid and no Hello, since no bus daemon is there.
func privateDial(path string) func() (*dbus.Conn, error) {
	return func() (*dbus.Conn, error) {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		c, err := dbus.Dial("unix:path=" + path)
		if err != nil {
			return nil, err
		}
		if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}

func busDial(path string) (*dbus.Conn, error) {
	c, err := dbus.Dial("unix:path=" + path)
	if err != nil {
		return nil, err
	}
	if err := c.Auth([]dbus.Auth{dbus.AuthExternal(strconv.Itoa(os.Getuid()))}); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.Hello(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// RuntimeUnitDir is the folder of unit files and drop-ins that the scope's
// manager reads and that vanishes at reboot: /run/systemd/system, or
// $XDG_RUNTIME_DIR/systemd/user.
func (s Scope) RuntimeUnitDir() string {
	return filepath.Join(s.RuntimeDir(), "systemd", s.String())
}

// RuntimeDir is the manager's runtime folder (%t in a unit): /run, or the
// user's $XDG_RUNTIME_DIR.
func (s Scope) RuntimeDir() string {
	if s == System {
		return "/run"
	}
	if rt := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(rt) {
		return rt
	}
	return fmt.Sprintf("/run/user/%d", os.Getuid())
}

// TransientDir is the folder where the scope's manager keeps its transient
// units' files: /run/systemd/transient, or $XDG_RUNTIME_DIR/systemd/transient.
func (s Scope) TransientDir() string {
	return filepath.Join(filepath.Dir(s.RuntimeUnitDir()), "transient")
}

// Scope is the manager this connection talks to.
func (m *Manager) Scope() Scope { return m.scope }

// Close ends the connection.
func (m *Manager) Close() {
	m.connMu.Lock()
	m.closed = true
	c := m.conn
	m.connMu.Unlock()
	if c != nil {
		c.Close()
	}
}

func connectError(scope Scope, err error) error {
	if scope == User {
		u := os.Getenv("USER")
		if u == "" {
			u = strconv.Itoa(os.Getuid())
		}
		return fmt.Errorf("%w: cannot reach your user manager (%v); it runs while you are logged in, or always once lingering is on: sudo loginctl enable-linger %s (or now: sudo systemctl start user@%d.service, with XDG_RUNTIME_DIR=/run/user/%d); or use --system as root", ErrNoSystemd, err, u, os.Getuid(), os.Getuid())
	}
	return fmt.Errorf("%w: cannot reach the system manager (%v); systemd must be PID 1 (on a machine without it, try runctl in the sandbox: make demo)", ErrNoSystemd, err)
}
