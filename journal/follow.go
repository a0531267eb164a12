package journal

import (
	"context"
	"sync"
)

// Follower streams a query's entries to a callback as they arrive, until
// Finish.
type Follower struct {
	q  Query
	fn func(Entry)

	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	cursor string
}

// Follow starts following q (Follow is implied).
func Follow(q Query, fn func(Entry)) *Follower {
	q.Follow = true
	ctx, cancel := context.WithCancel(context.Background())
	f := &Follower{q: q, fn: fn, cancel: cancel, done: make(chan struct{})}
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
	f.fn(e)
	return nil
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
	return Stream(ctx, q, f.deliver)
}
