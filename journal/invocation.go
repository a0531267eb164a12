package journal

import (
	"context"
	"time"
)

// Window is the span of the journal that one invocation of a unit wrote.
// Lines a short-lived program wrote as it exited may lack the invocation id
// (journald reads it from a cgroup already gone), so a run's output is
// selected by time, between its first entry and the next invocation's.
type Window struct {
	ID    string
	Since time.Time // inclusive
	Until time.Time // inclusive; zero for the newest
}

// FindInvocation finds which ("current": the newest invocation, "previous":
// the one before it, or an invocation id) by reading the unit's entries
// newest first, stopping as soon as the window is bounded. A unit with no
// such invocation gives a zero Window.
func FindInvocation(ctx context.Context, user bool, unit, which string) (Window, error) {
	if which == "current" {
		return findCurrent(ctx, user, unit)
	}
	type seen struct {
		id     string
		oldest time.Time
	}
	var order []seen // newest invocation first
	target := -1
	switch which {
	case "current":
		target = 0
	case "previous":
		target = 1
	}
	found := func() int {
		for i, s := range order {
			if s.id == which || i == target {
				return i
			}
		}
		return -1
	}
	err := Stream(ctx, Query{User: user, Units: []string{unit}, Reverse: true}, func(e Entry) error {
		if e.InvocationID == "" {
			return nil
		}
		if n := len(order); n > 0 && order[n-1].id == e.InvocationID {
			order[n-1].oldest = e.Time
			return nil
		}
		// An older invocation began: the ones after it are bounded.
		if i := found(); i >= 0 && i < len(order) {
			return ErrStop
		}
		order = append(order, seen{e.InvocationID, e.Time})
		return nil
	})
	if err != nil {
		return Window{}, err
	}
	i := found()
	if i < 0 {
		return Window{}, nil
	}
	w := Window{ID: order[i].id, Since: order[i].oldest}
	if i > 0 {
		w.Until = order[i-1].oldest.Add(-time.Microsecond)
	}
	return w, nil
}

// findCurrent bounds the newest invocation by reading the unit's entries
// newest first, as FindInvocation does, but at most scanEntries of them: an
// invocation with more is bounded by its oldest entry, read through the
// index of invocation ids (they are unique) rather than by a scan of all
// its entries (20,000 entries took ~1 s here).
func findCurrent(ctx context.Context, user bool, unit string) (Window, error) {
	const scanEntries = 1000
	var w Window
	bounded, n := false, 0
	err := Stream(ctx, Query{User: user, Units: []string{unit}, Reverse: true, Lines: scanEntries}, func(e Entry) error {
		n++
		switch {
		case e.InvocationID == "":
		case w.ID == "" || e.InvocationID == w.ID:
			w.ID, w.Since = e.InvocationID, e.Time
		default:
			bounded = true
			return ErrStop
		}
		return nil
	})
	if err != nil || w.ID == "" || bounded || n < scanEntries {
		return w, err
	}
	q := Query{User: user, Matches: []string{"_SYSTEMD_INVOCATION_ID=" + w.ID, "+", "INVOCATION_ID=" + w.ID, "+", "USER_INVOCATION_ID=" + w.ID}}
	err = Stream(ctx, q, func(e Entry) error {
		w.Since = e.Time
		return ErrStop
	})
	return w, err
}
