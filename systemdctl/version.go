package systemdctl

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
)

// Version is the systemd version of the manager at the other end (247,
// 252, 257...), read once per connection: a daemon-reexec, as a systemd
// upgrade ends with, drops every connection, and the next one reads it
// again.
//
// Over the system manager's private socket, the manager is PID 1 of our
// pid namespace (it refuses peers from others), and its version is in the
// name of the libsystemd-shared-VERSION.so it has mapped (/proc/1/maps, as
// root): no D-Bus call, so the verbs' calls stay as few as they were. On
// the other routes, or if no such library is mapped (a build that links it
// statically), it is the manager's Version property: one call.
func (m *Manager) Version(ctx context.Context) (int, error) {
	// A connection the manager dropped may be to an older one.
	if err := m.alive(ctx); err != nil {
		return 0, err // it says what could not be reached
	}
	m.connMu.Lock()
	gen, v := m.gen, m.version
	m.connMu.Unlock()
	if v != 0 && m.versionGen == gen {
		return v, nil
	}
	if m.private && m.scope == System {
		v = mappedVersion("/proc/1/maps")
	}
	if v == 0 {
		var raw string
		err := m.again(ctx, func() error {
			var prop dbus.Variant
			err := m.systemd().CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, "org.freedesktop.systemd1.Manager", "Version").Store(&prop)
			if err == nil {
				raw, _ = prop.Value().(string)
			}
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("the %s manager did not say its version: %w", m.scope, err)
		}
		if v = parseVersion(raw); v == 0 {
			return 0, fmt.Errorf("the %s manager's version %q is not a version runctl can read", m.scope, raw)
		}
	}
	m.connMu.Lock()
	if m.gen == gen {
		m.version, m.versionGen = v, gen
	}
	m.connMu.Unlock()
	return v, nil
}

// parseVersion reads the major version from systemd's version strings:
// "252.38-1~deb12u1" and "247.3-7+deb11u4" (the Version property), "257"
// (a library's name). 0 if there is none.
func parseVersion(s string) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	v, err := strconv.Atoi(s[:end])
	if err != nil || end == 0 {
		return 0
	}
	return v
}

// mappedVersion is the version in the name of the libsystemd-shared-*.so
// a process has mapped (its maps file), 0 if none is or it cannot be read.
func mappedVersion(maps string) int {
	f, err := os.Open(maps)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndex(line, "/libsystemd-shared-")
		if i < 0 {
			continue
		}
		if v := parseVersion(line[i+len("/libsystemd-shared-"):]); v != 0 {
			return v
		}
	}
	return 0
}
