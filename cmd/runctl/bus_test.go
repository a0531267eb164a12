package main

// The tests' own looks at units go to the sandbox's manager over its
// system bus, from the test process: a systemctl inside costs about 15 ms
// of CPU (an nsenter, a systemctl and its bus connection), a call about
// 0.2 ms, and the suite made some 2,500 of them.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"

	"github.com/runctl/runctl/sandbox"
)

var (
	managersMu sync.Mutex
	managers   = map[*sandbox.Sandbox]*sdbus.Conn{}
)

// manager is a connection to the manager of the sandbox t works in, one
// per sandbox for the package.
func manager(t testing.TB) *sdbus.Conn {
	t.Helper()
	s := sbOf(t)
	sandbox.Need(t, s)
	managersMu.Lock()
	defer managersMu.Unlock()
	if c := managers[s]; c != nil && c.Connected() {
		return c
	}
	c, err := sdbus.NewConnection(func() (*dbus.Conn, error) {
		// Dial, authenticate (EXTERNAL as root here) and Hello.
		return dbus.Connect("unix:path=" + s.SystemBus())
	})
	if err == nil {
		// JobRemoved, which a stop waits for, is sent to subscribers.
		err = c.Subscribe()
	}
	if err != nil {
		t.Fatalf("cannot reach the sandbox's manager: %v", err)
	}
	managers[s] = c
	return c
}

// onBus runs call until the manager answers it: a call that reaches it
// while it re-executes gets no reply (the sequence tests reexec it).
func onBus(t testing.TB, call func(ctx context.Context, c *sdbus.Conn) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	for {
		err := call(ctx, manager(t))
		var de dbus.Error
		if err == nil || !errors.As(err, &de) || de.Name != "org.freedesktop.DBus.Error.NoReply" || ctx.Err() != nil {
			if err != nil {
				t.Fatalf("the sandbox's manager: %v", err)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// serviceProps are read from the Service interface, the others from Unit.
var serviceProps = map[string]bool{"MainPID": true, "Result": true, "NRestarts": true, "ExecMainStatus": true, "ExecMainCode": true, "ExecMainStartTimestamp": true}

// prop is a unit's property as `systemctl show -P` prints the kinds these
// tests read: text, numbers, yes/no and the invocation id in hex.
func prop(t testing.TB, unit, name string) string {
	t.Helper()
	var v any
	onBus(t, func(ctx context.Context, c *sdbus.Conn) error {
		get := c.GetUnitPropertyContext
		if serviceProps[name] {
			get = c.GetServicePropertyContext
		}
		p, err := get(ctx, unit, name)
		if err == nil {
			v = p.Value.Value()
		}
		return err
	})
	switch v := v.(type) {
	case []byte:
		return hex.EncodeToString(v)
	case bool:
		if v {
			return "yes"
		}
		return "no"
	}
	return fmt.Sprint(v)
}

// listUnits lists the units the manager holds whose names match patterns, a
// line each as `systemctl list-units --all --plain --no-legend` prints
// them: unit, load, active and sub state, description.
func listUnits(t testing.TB, patterns ...string) string {
	t.Helper()
	var us []sdbus.UnitStatus
	onBus(t, func(ctx context.Context, c *sdbus.Conn) (err error) {
		us, err = c.ListUnitsByPatternsContext(ctx, nil, patterns)
		return err
	})
	var lines []string
	for _, u := range us {
		lines = append(lines, strings.Join([]string{u.Name, u.LoadState, u.ActiveState, u.SubState, u.Description}, " "))
	}
	return strings.Join(lines, "\n")
}

// endUnits kills, stops and resets the units, as a test's cleanup; each
// goes on past units that are not loaded.
func endUnits(t testing.TB, names []string) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	c := manager(t)
	for _, u := range names {
		c.KillUnitWithTarget(ctx, u, sdbus.All, 9)
	}
	ch := make(chan string, len(names))
	n := 0
	for _, u := range names {
		if _, err := c.StopUnitContext(ctx, u, "replace", ch); err == nil {
			n++
		}
	}
	for ; n > 0; n-- {
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
	for _, u := range names {
		c.ResetFailedUnitContext(ctx, u)
	}
}
