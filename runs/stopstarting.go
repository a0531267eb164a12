package runs

import (
	"context"
	"time"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// lockWait is how long stop waits for a run's lock before it looks at why
// another runctl holds it.
const lockWait = 50 * time.Millisecond

// lockForStop takes the run's lock for stop. The runctl that holds it may
// be waiting for the run's start job: a --notify run that has not sent
// READY=1 yet (systemd waits up to TimeoutStartSec, 90 s by default), or
// a program slow to start. Waiting for that lock would keep stop waiting
// as long. So once the lock is not granted at once, stop watches the
// unit, and if a start job is pending while the unit is activating it
// goes ahead without the lock: its stop job replaces the start job, whose
// runctl then sees its start canceled and returns. The uncontended path
// makes no call to the manager.
func (r *Runs) lockForStop(ctx context.Context, name string) (unlock func(), err error) {
	if !r.Store.Has(name) {
		return r.lock(ctx, name, false)
	}
	lctx, cancel := context.WithCancel(ctx)
	type locked struct {
		unlock func()
		err    error
	}
	got := make(chan locked, 1)
	go func() {
		u, err := r.lock(lctx, name, false)
		got <- locked{u, err}
	}()
	giveUp := func() {
		cancel()
		if l := <-got; l.err == nil {
			l.unlock() // granted as it was given up
		}
	}
	select {
	case l := <-got:
		cancel()
		return l.unlock, l.err
	case <-time.After(lockWait):
	}
	w, err := r.Manager.Watch(ctx, units.UnitName(name))
	if err != nil {
		w.Close()
		l := <-got // stop as it always did: behind the lock
		cancel()
		return l.unlock, l.err
	}
	defer w.Close()
	wctx, stopWatching := context.WithCancel(ctx)
	defer stopWatching()
	starting := make(chan bool, 1)
	go func() {
		if _, err := w.Refresh(wctx); err != nil {
			starting <- false
			return
		}
		_, err := w.Wait(wctx, startPending)
		starting <- err == nil
	}()
	select {
	case l := <-got:
		cancel()
		return l.unlock, l.err
	case ok := <-starting:
		if !ok {
			l := <-got
			cancel()
			return l.unlock, l.err
		}
		giveUp()
		r.Log.Debug().Str("run", name).Msg("stopping a run whose start another runctl waits for, without its lock")
		return func() {}, nil
	}
}

// startPending: the unit is on its way up with its start job pending.
func startPending(s systemdctl.State, _ map[uint32]string) bool {
	return s.ActiveState == "activating" && s.Job != 0 && s.SubState != "auto-restart"
}
