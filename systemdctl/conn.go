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
	gen    int // bumped on every reconnect
	// matched: the bus has this connection's match rules; subbed: and the
	// manager its Subscribe.
	matched, subbed bool
	closed          bool
	// version is the manager's, read on connection versionGen (Version).
	version, versionGen int

	subMu  sync.Mutex // one Subscribe at a time: a second one is refused
	dialMu sync.Mutex // one reconnect at a time

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
	m.conn, m.matched, m.subbed = c, false, false
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
// meanwhile is replaced, and a manager that left the bus for a moment is
// waited for, as for any other call.
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
	c, matched, done := m.conn, m.matched, m.subbed
	m.connMu.Unlock()
	if done {
		return nil
	}
	var calls []*dbus.Call
	if !matched {
		for _, rule := range signalRules {
			calls = append(calls, c.BusObject().GoWithContext(ctx, "org.freedesktop.DBus.AddMatch", 0, nil, rule))
		}
	}
	subscribe := c.Object("org.freedesktop.systemd1", "/org/freedesktop/systemd1").
		GoWithContext(ctx, "org.freedesktop.systemd1.Manager.Subscribe", 0, nil)
	var errs []error
	for _, call := range calls {
		errs = append(errs, (<-call.Done).Err)
	}
	matchErr := errors.Join(errs...)
	subErr := (<-subscribe.Done).Err
	var de dbus.Error
	if errors.As(subErr, &de) && de.Name == "org.freedesktop.systemd1.AlreadySubscribed" {
		// A manager that re-executes keeps its subscribers.
		subErr = nil
	}
	m.connMu.Lock()
	if m.conn == c {
		m.matched = m.matched || matchErr == nil
		m.subbed = matchErr == nil && subErr == nil
	}
	m.connMu.Unlock()
	// A dropped connection or a manager away: again tries once more.
	return errors.Join(matchErr, subErr)
}

// backWithin bounds how long a repeatable call waits for a manager that
// dropped the connection or left the bus to be back: a daemon-reexec takes
// well under a second, a manager deserializing thousands of units a few.
const backWithin = 30 * time.Second

// pause waits *delay before the next try, and doubles it up to half a
// second; it returns false, at once, if that would pass deadline or ctx
// ends.
func pause(ctx context.Context, deadline time.Time, delay *time.Duration) bool {
	if time.Now().Add(*delay).After(deadline) {
		return false
	}
	t := time.NewTimer(*delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	*delay = min(2**delay, 500*time.Millisecond)
	return true
}

// reconnect replaces a connection the manager dropped (generation gen),
// retrying while a re-executing manager is not listening yet, and asks
// for signals on the new one.
func (m *Manager) reconnect(ctx context.Context, gen int) error {
	deadline := time.Now().Add(backWithin)
	delay := 10 * time.Millisecond
	m.dialMu.Lock()
	for {
		m.connMu.Lock()
		current, closed := m.gen, m.closed
		m.connMu.Unlock()
		if closed {
			m.dialMu.Unlock()
			return errors.New("the connection to systemd was closed")
		}
		if current != gen {
			break // replaced already, by this loop or another call's
		}
		err := m.open(m.dial)
		if err == nil {
			break
		}
		if !pause(ctx, deadline, &delay) {
			m.dialMu.Unlock()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("lost the connection to systemd and could not reconnect: %w", err)
		}
	}
	m.dialMu.Unlock()
	for {
		err := m.subscribeOnce(ctx)
		if !away(err) || !pause(ctx, deadline, &delay) {
			return err
		}
	}
}

// again runs f, a call that is safe to repeat, until the manager answers
// it: if the manager dropped the connection (daemon-reexec closes the
// private socket's), it reconnects and runs f on the new connection; if
// the manager left the bus for a moment (daemon-reexec through a bus), it
// runs f again, and the bus holds the call until the manager is back.
// Both for at most backWithin.
func (m *Manager) again(ctx context.Context, f func() error) error {
	var deadline time.Time
	delay := 10 * time.Millisecond
	for {
		m.connMu.Lock()
		gen := m.gen
		m.connMu.Unlock()
		err := f()
		if !dropped(err) && !away(err) {
			return err
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(backWithin)
		}
		if dropped(err) {
			if rerr := m.reconnect(ctx, gen); rerr != nil {
				return rerr
			}
			if time.Now().After(deadline) {
				return err
			}
			continue
		}
		if !pause(ctx, deadline, &delay) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
	}
}

// once runs f, a call that must not be run twice (a start, a signal), on
// a connection not known to be dropped. It is sent again only when the bus
// had no manager to hand it to; if the manager went away before it
// answered, it may or may not have run, and the error says so.
func (m *Manager) once(ctx context.Context, f func() error) error {
	if err := m.alive(ctx); err != nil {
		return err
	}
	err := f()
	deadline, delay := time.Now().Add(backWithin), 10*time.Millisecond
	for undelivered(err) && pause(ctx, deadline, &delay) {
		err = f()
	}
	if dropped(err) || away(err) {
		return &goneError{err}
	}
	return err
}

// goneError is a call that must not be repeated, which the manager left
// unanswered: it may or may not have run.
type goneError struct{ err error }

func (e *goneError) Error() string {
	return fmt.Sprintf("systemd went away before it answered (%v), so it may or may not have done it", e.err)
}

func (e *goneError) Unwrap() error { return e.err }

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

// undelivered says whether err is the bus reporting that it had no
// manager to hand a call to: the call was not run.
func undelivered(err error) bool {
	var de dbus.Error
	return errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner")
}

// away says whether err is the bus reporting that the manager left it for
// a moment, as a daemon-reexec through a bus shows on a connection that
// stays up: the calls the manager had not answered when it let go of the
// bus end with NoReply ("Message recipient disconnected from message bus
// without replying"); until it is back, its name may have no owner
// (ServiceUnknown, NameHasNoOwner; a bus that activates services holds the
// call instead). A call that ended so may or may not have run: only
// repeatable ones are sent again.
func away(err error) bool {
	var de dbus.Error
	if !errors.As(err, &de) {
		return false
	}
	return de.Name == "org.freedesktop.DBus.Error.NoReply" || undelivered(err)
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
