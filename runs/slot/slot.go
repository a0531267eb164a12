// Package slot owns a run's presence in one systemd manager: the paths
// runctl writes on a run's behalf (its drop-in, its unit file and boot link,
// its stop marker), the exit recorder's templates and marker protocol, and
// the stop and start of its unit.
//
// Starting follows one shape: try the fast path (the calls a healthy run
// needs), and when the manager answers that the name is taken, observe what
// it holds under the name, plan from that alone (Plan, a pure function) and
// act, observing again if the manager changed meanwhile.
//
// The verbs of package runs lock, load and save the spec, call this package
// and shape what it did into their results.
package slot

import (
	"context"
	"errors"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Layout is every folder runctl writes into on a run's behalf, as runctl
// reaches them. Tests point it at a sandbox's folders; runctl itself at
// the machine's own.
type Layout struct {
	// Store is runctl's store: specs, environment files, records.
	Store string
	// UnitDir is where enabled runs' unit files go.
	UnitDir string
	// RuntimeDir is the manager's %t (stop markers, staged drop-ins),
	// TransientDir the folder of its transient units (drop-ins),
	// RuntimeUnitDir its runtime unit folder (recorder templates).
	RuntimeDir, TransientDir, RuntimeUnitDir string
	// Alive is a path that exists, as the manager sees it, while this
	// runctl lives: what its stop markers link to.
	Alive string
}

// Paths are the files of one run, derived from a Layout.
type Paths struct {
	Unit string // runctl-NAME.service
	// TransientDropIn is beside its transient unit, RuntimeDropIn in the
	// manager's runtime unit folder: where the drop-in goes depends on the
	// manager's version (Slots.dropIn).
	TransientDropIn, RuntimeDropIn string
	Staging                        string // where the drop-in waits, on the drop-in's file system
	UnitFile                       string // written by enable
	Marker                         string // keeps the recorder off while runctl stops the run
	HandedOver                     string // the marker, once runctl handed its stop over to the recorder
}

// Paths derives run name's files: the one place they are computed.
func (l Layout) Paths(name string) Paths {
	unit := units.UnitName(name)
	rec := units.NewExitRecorder(l.Store)
	marker := rec.Marker(l.RuntimeDir, name)
	return Paths{
		Unit:            unit,
		TransientDropIn: filepath.Join(l.TransientDir, unit+".d", units.DropInName),
		RuntimeDropIn:   filepath.Join(l.RuntimeUnitDir, unit+".d", units.DropInName),
		Staging:         filepath.Join(filepath.Dir(marker), name+".conf"),
		UnitFile:        filepath.Join(l.UnitDir, unit),
		Marker:          marker,
		HandedOver:      rec.HandedOver(l.RuntimeDir, name),
	}
}

// Slots are the runs' places in one manager.
type Slots struct {
	Manager *systemdctl.Manager
	Layout  Layout
	Log     zerolog.Logger
	// BeforeStartByName, if set, is called between observing a loaded
	// unit and starting it by name: a test unloads the unit there, as
	// the manager may.
	BeforeStartByName func()
}

// ErrTaken: the unit name belongs to something runctl did not make.
var ErrTaken = errors.New("the unit name is taken")

// store is where runs' records go.
func (s *Slots) store() specstore.Store { return specstore.Store{Dir: s.Layout.Store} }

// version is the manager's systemd version (0 if it cannot be read): the
// connection reads it once, at no D-Bus call as root.
func (s *Slots) version() int {
	v, _ := s.Manager.Version(context.Background())
	return v
}

// Recorder is how the runs record their ends, which depends on the
// manager's version (0: the ExecStopPost= route, which works on every
// version).
func (s *Slots) Recorder() units.ExitRecorder {
	return units.NewExitRecorder(s.Layout.Store).ForVersion(s.version())
}
