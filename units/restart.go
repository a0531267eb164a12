package units

import (
	"math"
	"strconv"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
)

// backoffVersion is the first systemd version with RestartSteps= and
// RestartMaxDelaySec=, which grow the delay between automatic restarts.
const backoffVersion = 254

// backoff says whether a manager of version (0: unknown) grows the delay
// between s's restarts from RestartDelay to RestartMaxDelay. Older managers,
// and one whose version is not known, wait RestartDelay every time.
func (s *Spec) backoff(version int) bool {
	return s.Restarts() && s.RestartMaxDelay > s.RestartDelay && s.RestartDelay > 0 && version >= backoffVersion
}

// restartSteps is how many restarts the delay takes to grow from
// RestartDelay to RestartMaxDelay when each waits about twice as long as
// the one before (systemd multiplies by (max/delay)^(1/steps)).
func (s *Spec) restartSteps() uint32 {
	if s.RestartDelay <= 0 || s.RestartMaxDelay <= s.RestartDelay {
		return 0
	}
	return uint32(math.Ceil(math.Log2(float64(s.RestartMaxDelay) / float64(s.RestartDelay))))
}

// restartProperties are the transient unit's properties for automatic
// restarts under a manager of version (0: unknown).
func restartProperties(s *Spec, version int) []sdbus.Property {
	var props []sdbus.Property
	if s.Restarts() {
		props = append(props,
			prop("Restart", s.Restart),
			prop("RestartUSec", uint64(time.Duration(s.RestartDelay)/time.Microsecond)),
		)
		if s.backoff(version) {
			props = append(props,
				prop("RestartSteps", s.restartSteps()),
				prop("RestartMaxDelayUSec", uint64(time.Duration(s.RestartMaxDelay)/time.Microsecond)),
			)
		}
	}
	switch {
	case s.NoRestartLimit:
		// An interval of 0 turns the start limit off.
		props = append(props, prop("StartLimitIntervalUSec", uint64(0)))
	case s.MaxRestarts > 0:
		// The limit counts starts: the first one plus MaxRestarts restarts.
		props = append(props,
			prop("StartLimitBurst", uint32(s.MaxRestarts+1)),
			prop("StartLimitIntervalUSec", uint64(time.Duration(s.Within)/time.Microsecond)),
		)
	}
	return props
}

// restartLimitLines are the [Unit] lines of restartProperties' start limit.
func (w *unitWriter) restartLimit(s *Spec) {
	switch {
	case s.NoRestartLimit:
		w.raw("StartLimitIntervalSec", "0")
	case s.MaxRestarts > 0:
		w.raw("StartLimitIntervalSec", timespanValue(time.Duration(s.Within)))
		w.raw("StartLimitBurst", strconv.Itoa(s.MaxRestarts+1))
	}
}

// restartLines are the [Service] lines of restartProperties' restarts.
func (w *unitWriter) restart(s *Spec, version int) {
	if !s.Restarts() {
		return
	}
	w.raw("Restart", s.Restart)
	w.raw("RestartSec", timespanValue(time.Duration(s.RestartDelay)))
	if s.backoff(version) {
		w.raw("RestartSteps", strconv.FormatUint(uint64(s.restartSteps()), 10))
		w.raw("RestartMaxDelaySec", timespanValue(time.Duration(s.RestartMaxDelay)))
	}
}
