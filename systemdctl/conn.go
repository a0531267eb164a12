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

	sd "github.com/coreos/go-systemd/v22/dbus"
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
// dropping it (daemon-reexec closes every client connection): waits
// reconnect, subscribe again and resume from the unit's state.
type Manager struct {
	scope Scope
	dial  func() (*dbus.Conn, error) // the dial that worked, for reconnects

	connMu sync.Mutex
	conn   *sd.Conn
	call   *dbus.Conn // the connection under conn, for calls go-systemd lacks
	gen    int        // bumped on every reconnect
	subbed bool
	subErr error
	closed bool

	mu      sync.Mutex
	watches map[dbus.ObjectPath]map[*Watch]struct{}
}

// Connect opens the connection. Root talks to the system manager over its
// private socket, which works without dbus-daemon; everyone else goes through
// the bus, where polkit decides.
func Connect(ctx context.Context, opts Options) (*Manager, error) {
	m := &Manager{scope: opts.Scope, watches: map[dbus.ObjectPath]map[*Watch]struct{}{}}
	var dials []func() (*dbus.Conn, error)
	switch {
	case opts.Bus != "":
		dials = append(dials, func() (*dbus.Conn, error) { return busDial(opts.Bus) })
	case opts.Scope == System:
		if os.Geteuid() == 0 {
			dials = append(dials, privateDial("/run/systemd/private"))
		}
		dials = append(dials, func() (*dbus.Conn, error) { return dbus.ConnectSystemBus() })
	default:
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			dials = append(dials, privateDial(filepath.Join(rt, "systemd/private")))
		}
		dials = append(dials, func() (*dbus.Conn, error) { return dbus.ConnectSessionBus() })
	}
	var errs []error
	for _, dial := range dials {
		if err := m.open(dial); err != nil {
			errs = append(errs, err)
			continue
		}
		m.dial = dial
		return m, nil
	}
	return nil, connectError(opts.Scope, errors.Join(errs...))
}

// open dials and routes the new connection's signals. go-systemd asks for a
// connection for calls and one for signals; one serves both (a connect and
// a handshake less per command), and we route its signals ourselves:
// go-systemd's subscriber drops the Service interface's PropertiesChanged.
func (m *Manager) open(dial func() (*dbus.Conn, error)) error {
	c, err := dial()
	if err != nil {
		return err
	}
	conn, err := sd.NewConnection(func() (*dbus.Conn, error) { return c, nil })
	if err != nil {
		c.Close()
		return err
	}
	signals := make(chan *dbus.Signal, 4096)
	c.Signal(signals)
	m.connMu.Lock()
	m.conn, m.call, m.subbed, m.subErr = conn, c, false, nil
	m.gen++
	gen := m.gen
	m.connMu.Unlock()
	go m.route(signals, gen)
	return nil
}

// sd and bus are the current connection, as go-systemd's and godbus's.
func (m *Manager) sd() *sd.Conn {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return m.conn
}

func (m *Manager) bus() *dbus.Conn {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	return m.call
}

// subscribe asks the manager for its signals, once per connection, when
// the first Watch needs them: commands that only read (ls, status) skip
// the round trip.
func (m *Manager) subscribe() error {
	m.connMu.Lock()
	defer m.connMu.Unlock()
	if !m.subbed {
		m.subbed = true
		if err := m.conn.Subscribe(); err != nil {
			m.subErr = wrap(err, "cannot subscribe to systemd's signals")
		}
	}
	return m.subErr
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
		return m.subscribe() // another wait already reconnected
	}
	deadline := time.Now().Add(30 * time.Second)
	delay := 10 * time.Millisecond
	for {
		err := m.open(m.dial)
		if err == nil {
			return m.subscribe()
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
