package sandbox

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
)

// A Pool lends sandboxes to the tests that need a manager to themselves
// (daemon-reload, daemon-reexec, journald settings, counts of PID 1's
// calls, a look at every unit): each runs alone on one sandbox of the pool,
// while other such tests run on the pool's other sandboxes and the tests
// that share the package's sandbox run beside them. A sandbox is booted
// when a test first finds none free, and lent again once that test is over.
type Pool struct {
	opts Options
	max  int
	mu   sync.Mutex
	cond *sync.Cond // broadcast when a sandbox is given back or a boot failed
	free []*Sandbox
	all  []*Sandbox
	// booting counts the boots under way, which also take room.
	booting int
	// longWaiting counts the long tests waiting (AloneLong): they go first.
	longWaiting int
	lent        map[string]*Sandbox // top-level test name → its sandbox
}

// NewPool is a pool of at most size sandboxes booted with opts.
func NewPool(size int, opts Options) *Pool {
	p := &Pool{opts: opts, max: size, lent: map[string]*Sandbox{}}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Alone marks t parallel and lends it a sandbox of its own until it ends;
// Of(t) then gives that sandbox to t and its subtests. It waits for one
// that is free, or for room to boot one.
func (p *Pool) Alone(t *testing.T) { t.Helper(); p.alone(t, false) }

// AloneLong is Alone for a test that takes much longer than most: it is
// lent a sandbox before the others waiting, so that it does not start
// last and hold up the end of the run.
func (p *Pool) AloneLong(t *testing.T) { t.Helper(); p.alone(t, true) }

func (p *Pool) alone(t *testing.T, long bool) {
	t.Helper()
	t.Parallel()
	s, err := p.take(t.Context(), long)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.lent[t.Name()] = s
	p.mu.Unlock()
	t.Cleanup(func() {
		p.mu.Lock()
		delete(p.lent, t.Name())
		p.free = append(p.free, s)
		p.cond.Broadcast()
		p.mu.Unlock()
	})
}

// Of is the sandbox lent to t's top-level test, or shared if none is.
func (p *Pool) Of(t testing.TB, shared *Sandbox) *Sandbox {
	top, _, _ := strings.Cut(t.Name(), "/")
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.lent[top]; ok {
		return s
	}
	return shared
}

func (p *Pool) take(ctx context.Context, long bool) (*Sandbox, error) {
	p.mu.Lock()
	if long {
		p.longWaiting++
	}
	for len(p.free) == 0 && len(p.all)+p.booting >= p.max || !long && p.longWaiting > 0 {
		p.cond.Wait()
	}
	if long {
		p.longWaiting--
	}
	if n := len(p.free); n > 0 {
		s := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return s, nil
	}
	p.booting++
	p.mu.Unlock()
	s, err := Boot(ctx, p.opts)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.booting--
	if err != nil {
		p.cond.Broadcast()
		return nil, fmt.Errorf("cannot boot a sandbox of the pool: %w", err)
	}
	p.all = append(p.all, s)
	return s, nil
}

// Close powers off every sandbox the pool booted.
func (p *Pool) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, s := range p.all {
		errs = append(errs, s.Close())
	}
	p.all, p.free = nil, nil
	return errors.Join(errs...)
}
