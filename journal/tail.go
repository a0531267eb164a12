package journal

import (
	"context"
	"slices"
)

// Tail returns the last n entries of each unit, oldest first, reading the
// journal once for all of them (one journalctl, newest first); only units
// left short when that read hit its limit are read again on their own.
func Tail(ctx context.Context, user bool, units []string, n int) (map[string][]Entry, error) {
	got := make(map[string][]Entry, len(units))
	if len(units) == 0 || n <= 0 {
		return got, nil
	}
	collect := func(q Query) (int, error) {
		count := 0
		err := Stream(ctx, q, func(e Entry) error {
			count++
			if len(got[e.Unit]) < n {
				got[e.Unit] = append(got[e.Unit], e)
			}
			return nil
		})
		return count, err
	}
	q := Query{User: user, Units: units, Lines: n * len(units), Reverse: true}
	if !user {
		// The same entries as -u for each unit (the program's, and the
		// manager's about it), as two matches on one field each rather
		// than four terms per unit: a quarter faster at 100 units.
		q.Units = nil
		for _, u := range units {
			q.Matches = append(q.Matches, "_SYSTEMD_UNIT="+u)
		}
		q.Matches = append(q.Matches, "+", "_PID=1")
		for _, u := range units {
			q.Matches = append(q.Matches, "UNIT="+u)
		}
	}
	count, err := collect(q)
	if err != nil {
		return nil, err
	}
	if count == q.Lines {
		for _, u := range units {
			if len(got[u]) < n {
				got[u] = nil
				if _, err := collect(Query{User: user, Units: []string{u}, Lines: n, Reverse: true}); err != nil {
					return nil, err
				}
			}
		}
	}
	for u := range got {
		slices.Reverse(got[u])
	}
	return got, nil
}
