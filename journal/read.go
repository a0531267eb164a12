package journal

import (
	"context"
	"errors"
	"slices"
	"strconv"
)

// joiner glues back the pieces journald splits a line longer than its
// LineMax into (each but the last marked _LINE_BREAK=line-max), per
// writer, and hands whole lines on in journal order.
type joiner struct {
	fn      func(Entry) error
	err     error // the first error fn returned: nothing is handed on after it
	pending map[string]*Entry
	order   []string // keys of pending lines, oldest first
}

func newJoiner(fn func(Entry) error) *joiner {
	return &joiner{fn: fn, pending: map[string]*Entry{}}
}

func (j *joiner) emit(e Entry) error {
	if j.err == nil {
		j.err = j.fn(e)
	}
	return j.err
}

// key names one writer: the pieces of a line come from one stream.
func key(e Entry) string { return e.Unit + "\x00" + strconv.Itoa(e.PID) + "\x00" + e.Identifier }

func (j *joiner) add(e Entry) error {
	if j.err != nil {
		return j.err
	}
	if len(j.pending) == 0 && e.LineBreak != "line-max" {
		return j.emit(e) // the common case: a whole line, nothing pending
	}
	k := key(e)
	p := j.pending[k]
	if p == nil && e.LineBreak != "line-max" {
		return j.emit(e)
	}
	if p == nil {
		e.Message = slices.Clone(e.Message)
		j.pending[k] = &e
		j.order = append(j.order, k)
		return nil
	}
	p.Message = append(p.Message, e.Message...)
	p.Cursor, p.LineBreak = e.Cursor, e.LineBreak
	if e.LineBreak == "line-max" {
		return nil
	}
	j.drop(k)
	return j.emit(*p)
}

func (j *joiner) drop(k string) {
	delete(j.pending, k)
	j.order = slices.DeleteFunc(j.order, func(o string) bool { return o == k })
}

// flush hands on lines whose end has not been written (yet), as they are.
func (j *joiner) flush() error {
	for len(j.order) > 0 {
		k := j.order[0]
		p := j.pending[k]
		j.drop(k)
		if err := j.emit(*p); err != nil {
			return err
		}
	}
	return nil
}

// Read hands q's entries to fn, oldest first, with split lines joined: the
// last n lines (n > 0), or all (n <= 0). fn may return ErrStop.
func Read(ctx context.Context, q Query, n int, fn func(Entry) error) error {
	j := newJoiner(fn)
	if n > 0 {
		last, err := lastEntries(ctx, q, n)
		if err != nil {
			return err
		}
		for _, e := range last {
			if err := j.add(e); err != nil {
				return stopped(err)
			}
		}
		return stopped(j.flush())
	}
	q.Lines, q.Follow = 0, false
	if err := Stream(ctx, q, j.add); err != nil {
		return err
	}
	return stopped(j.flush())
}

func stopped(err error) error {
	if errors.Is(err, ErrStop) {
		return nil
	}
	return err
}

// lastEntries reads the entries of q's last n lines, oldest first. It reads
// newest first without journalctl's --lines, which counts entries: the
// oldest line may be split into several.
func lastEntries(ctx context.Context, q Query, n int) ([]Entry, error) {
	q.Lines, q.Reverse, q.Follow = 0, true, false
	c := newLastLines(n, 64)
	err := Stream(ctx, q, func(e Entry) error {
		if c.take(e) {
			return ErrStop
		}
		return nil
	})
	got := c.got
	slices.Reverse(got)
	return got, err
}

// lastLines collects, from entries read newest first, those of the last n
// lines with all their pieces. Other writers' entries can sit between the
// pieces of a split line, so after n lines it reads on until each line's
// writer shows an older line, or slack more entries went by.
type lastLines struct {
	n, slack, ends, extra int
	open                  map[string]bool // writers whose oldest line taken may have older pieces
	got                   []Entry
}

func newLastLines(n, slack int) *lastLines {
	return &lastLines{n: n, slack: slack, open: map[string]bool{}}
}

// take looks at the next older entry and says whether the n lines are
// complete.
func (c *lastLines) take(e Entry) bool {
	k := key(e)
	switch {
	case e.LineBreak == "line-max" && c.open[k]:
		c.got = append(c.got, e) // an earlier piece of a line taken
		return false
	case c.ends < c.n:
		// A line's last piece (or a piece of a line still being written).
		c.ends++
		c.open[k] = true
		c.got = append(c.got, e)
		return false
	case e.LineBreak != "line-max" && c.open[k]:
		// An older line of k: the line taken is whole.
		delete(c.open, k)
	}
	c.extra++
	return len(c.open) == 0 || c.extra > c.slack
}

// FollowLast hands fn the last n lines of q (n < 0: all; 0: none), then
// every line written after them, until ctx is done or fn returns an error.
//
// journalctl 252 loses entries when it follows with --lines=N (any N, 0 too)
// while the journal grows fast: started before a unit's first entry it
// skipped the first ~10,000 lines of a 20,000-line burst. Following from a
// cursor (--after-cursor), or with --lines=all, loses none; so the last
// lines are read first, and following starts after the newest entry read.
func FollowLast(ctx context.Context, q Query, n int, fn func(Entry) error) error {
	j := newJoiner(fn)
	var cursor string
	consume := func(e Entry) error {
		cursor = e.Cursor
		return j.add(e)
	}
	var first []Entry
	var err error
	switch {
	case n > 0:
		first, err = lastEntries(ctx, q, n)
	case n == 0:
		// Only what comes after the unit's newest entry, whatever its priority
		// or invocation.
		end := Query{User: q.User, Units: q.Units, Matches: q.Matches}
		first, err = lastEntries(ctx, end, 1)
		if len(first) > 0 {
			cursor, first = first[len(first)-1].Cursor, nil
		}
	default:
		q.Lines = 0
		err = Stream(ctx, q, consume)
	}
	if err != nil {
		return err
	}
	for _, e := range first {
		if err := consume(e); err != nil {
			return stopped(err)
		}
	}
	q.Follow, q.Lines, q.Reverse, q.After = true, 0, false, cursor
	// No cursor: the unit has no entries yet (in q's window); --lines=all
	// (Lines 0 with Follow) then starts at its first one.
	return stopped(Stream(ctx, q, consume))
}
