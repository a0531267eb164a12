// Package systemdctl is how runctl talks to systemd: one long-lived D-Bus
// connection, transient units, jobs, and waits driven by the manager's signals.
package systemdctl

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

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

// Manager is a connection to one systemd manager.
type Manager struct {
	scope Scope
	conn  *sd.Conn
	call  *dbus.Conn // the connection under conn, for calls go-systemd lacks

	subOnce sync.Once
	subErr  error

	mu      sync.Mutex
	watches map[dbus.ObjectPath]map[*Watch]struct{}
	signals chan *dbus.Signal
}

// Connect opens the connection. Root talks to the system manager over its
// private socket, which works without dbus-daemon; everyone else goes through
// the bus, where polkit decides.
func Connect(ctx context.Context, opts Options) (*Manager, error) {
	m := &Manager{scope: opts.Scope, watches: map[dbus.ObjectPath]map[*Watch]struct{}{}}
	var dials []func() (*dbus.Conn, error)
	switch {
	case opts.Bus != "":
		dials = append(dials, func() (*dbus.Conn, error) { return busDial(ctx, opts.Bus) })
	case opts.Scope == System:
		if os.Geteuid() == 0 {
			dials = append(dials, privateDial(ctx, "/run/systemd/private"))
		}
		dials = append(dials, func() (*dbus.Conn, error) { return dbus.ConnectSystemBus(dbus.WithContext(ctx)) })
	default:
		if rt := os.Getenv("XDG_RUNTIME_DIR"); rt != "" {
			dials = append(dials, privateDial(ctx, filepath.Join(rt, "systemd/private")))
		}
		dials = append(dials, func() (*dbus.Conn, error) { return dbus.ConnectSessionBus(dbus.WithContext(ctx)) })
	}
	var errs []error
	for _, dial := range dials {
		c, err := dial()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		// go-systemd asks for a connection for calls and one for signals;
		// one serves both (a connect and a handshake less per command), and
		// we route its signals ourselves: go-systemd's subscriber drops the
		// Service interface's PropertiesChanged.
		conn, err := sd.NewConnection(func() (*dbus.Conn, error) { return c, nil })
		if err != nil {
			c.Close()
			errs = append(errs, err)
			continue
		}
		m.conn, m.call = conn, c
		break
	}
	if m.conn == nil {
		return nil, connectError(opts.Scope, errors.Join(errs...))
	}
	m.signals = make(chan *dbus.Signal, 4096)
	m.call.Signal(m.signals)
	go m.route()
	return m, nil
}

// subscribe asks the manager for its signals, once, when the first Watch
// needs them: commands that only read (ls, status) skip the round trip.
func (m *Manager) subscribe() error {
	m.subOnce.Do(func() {
		if err := m.conn.Subscribe(); err != nil {
			m.subErr = wrap(err, "cannot subscribe to systemd's signals")
		}
	})
	return m.subErr
}

// privateDial connects straight to a manager's private socket: EXTERNAL auth
// with our uid and no Hello, since no bus daemon is there.
func privateDial(ctx context.Context, path string) func() (*dbus.Conn, error) {
	return func() (*dbus.Conn, error) {
		if _, err := os.Stat(path); err != nil {
			return nil, err
		}
		c, err := dbus.Dial("unix:path="+path, dbus.WithContext(ctx))
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

func busDial(ctx context.Context, path string) (*dbus.Conn, error) {
	c, err := dbus.Dial("unix:path="+path, dbus.WithContext(ctx))
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
	if m.conn != nil {
		m.conn.Close()
	}
}

func connectError(scope Scope, err error) error {
	if scope == User {
		return fmt.Errorf("%w: cannot reach your user manager (%v); log in through a session that starts user@UID.service, or use --system", ErrNoSystemd, err)
	}
	return fmt.Errorf("%w: cannot reach the system manager (%v); systemd must be PID 1 (on a machine without it, try runctl in the sandbox: make demo)", ErrNoSystemd, err)
}
