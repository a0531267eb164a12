package slot

import (
	"context"
	"time"

	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Stop stops the run's unit for runctl stop and rm; enabled says whether
// runctl wrote its unit file. runctl records the stop itself ("stopped by
// runctl"), holding the recorder off for that one stop. Its errors are
// Manager.Stop's.
func (s *Slots) Stop(ctx context.Context, name string, opt systemdctl.StopOptions, enabled bool) (systemdctl.Stopped, error) {
	unit := units.UnitName(name)
	held := s.holdRecorder(name)
	var recorders []*systemdctl.Watch
	if held {
		// The marker goes once the recorder skipped this end, as the
		// recorder's unit unloads: whoever starts the run next (systemctl,
		// a group member, the boot, or a run that names it in --after),
		// its end is recorded. None on the ExecStopPost= route (systemd
		// before 251), which reads no marker.
		if ok, failed := s.Recorder().Triggers(name); ok != "" {
			for _, u := range []string{ok, failed} {
				w, _ := s.Manager.Watch(ctx, u)
				recorders = append(recorders, w)
				defer w.Close()
			}
		}
	}
	over, began := s.handOverOnDrop(ctx, name, held), time.Now()
	out, err := s.Manager.Stop(ctx, unit, opt)
	over()
	switch {
	case held && (err != nil || !out.Before.Running()):
		s.ReleaseRecorder(name) // nothing of runctl's to record
	case recorders != nil:
		defer func() {
			systemdctl.WaitRemoved(ctx, unloadWait, recorders...)
			s.ReleaseRecorder(name)
		}()
	}
	if err != nil || out.Before.ActiveState == "inactive" {
		return out, err
	}
	if out.Before.Running() && held {
		s.recordStop(name, &out.After, began)
	}
	if enabled {
		// A later start by name (a group member's restart, systemctl
		// start) must find the unit file, not a transient instance.
		if err := s.loadUnitFile(ctx, name); err != nil {
			s.Log.Info().Err(err).Msg("the unit file is not loaded yet")
		}
	}
	return out, nil
}
