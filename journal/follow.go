package journal

import (
	"context"
	"sync"
)

// Follower streams a query's entries to a callback as they arrive, with
// split lines joined, until Finish.
type Follower struct {
	q Query
	j *joiner

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	cursor string // of the last entry read, joined or still pending
}

// Follow starts following all of q's entries (Follow and --lines=all are
// implied: journalctl loses entries following with a line count).
func Follow(q Query, fn func(Entry)) *Follower {
	q.Follow, q.Lines, q.Reverse = true, 0, false
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{q: q, j: newJoiner(func(e Entry) error { fn(e); return nil }), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		Stream(ctx, q, f.deliver)
	}()
	return f
}

func (f *Follower) deliver(e Entry) error {
	f.mu.Lock()
	f.cursor = e.Cursor
	f.mu.Unlock()
	return f.j.add(e)
}

// Finish delivers what was written before the run ended and stops. It asks
// journald to process everything queued first (root only; the reply comes
// after pending stream data is written), then reads once more after the
// last entry seen, so nothing is cut off.
func (f *Follower) Finish(ctx context.Context) error {
	flush(ctx, f.q.User)
	f.cancel()
	<-f.done
	q := f.q
	q.Follow = false
	f.mu.Lock()
	q.After = f.cursor
	f.mu.Unlock()
	if err := Stream(ctx, q, f.deliver); err != nil {
		return err
	}
	return f.j.flush()
}
