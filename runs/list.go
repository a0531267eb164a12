package runs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Run is one run as runctl shows it: its kept spec joined with systemd's
// view of its unit. Its JSON form is the schema of `ls --json`.
type Run struct {
	Name         string     `json:"name"`
	Unit         string     `json:"unit"`
	Manager      string     `json:"manager"` // system or user
	State        string     `json:"state"`   // active, activating, deactivating, failed, stopped
	SubState     string     `json:"sub_state,omitempty"`
	Result       string     `json:"result,omitempty"`
	PID          uint32     `json:"pid,omitempty"`
	Since        *time.Time `json:"since,omitempty"`
	UptimeSec    float64    `json:"uptime_sec,omitempty"`
	Command      []string   `json:"command,omitempty"`
	Dir          string     `json:"dir,omitempty"`
	InvocationID string     `json:"invocation_id,omitempty"`
	Restarts     uint32     `json:"restarts"`
	LastExit     string     `json:"last_exit,omitempty"` // how the last main process ended
	// DownBoot: the last instance was running when this boot (its id)
	// went down, by a reboot or a power cut.
	DownBoot string `json:"down_boot,omitempty"`
	Known    bool   `json:"known"` // runctl keeps its spec
	// LimitHit: systemd gave up restarting it (--max-restarts reached).
	LimitHit bool `json:"restart_limit_hit"`
	// RestartAt: its program ended and systemd restarts it then (--restart).
	RestartAt *time.Time `json:"restart_at,omitempty"`
	// Autostart: runctl enabled it; it starts at boot.
	Autostart bool `json:"autostart"`
	// Damaged: why the kept spec cannot be used, and the fix.
	Damaged string `json:"damaged,omitempty"`
	// Stack: the stack file the run belongs to (runctl apply), if read.
	Stack string `json:"stack,omitempty"`
	// MemoryBytes and CPUSec: what a running run's control group uses now
	// and its CPU time so far (every process it had); nil when stopped or
	// not counted (or, in List, not asked for).
	MemoryBytes *uint64  `json:"memory_bytes"`
	CPUSec      *float64 `json:"cpu_sec"`

	// Created is when the spec was made; CommandLine is the command,
	// shell-quoted, for text output.
	Created     time.Time `json:"-"`
	CommandLine string    `json:"-"`
}

// Running says whether the run is active or on its way there.
func (r Run) Running() bool { return systemdctl.State{ActiveState: r.State}.Running() }

// makeRun joins a spec (nil if not read, or damaged) and a unit state
// (zero if not loaded).
func (r *Runs) makeRun(name string, spec *units.Spec, damaged error, known bool, st systemdctl.State, now time.Time) Run {
	run := Run{Name: name, Unit: units.UnitName(name), Manager: r.Scope().String(), State: "stopped", Known: known || spec != nil || damaged != nil}
	if damaged != nil {
		run.Damaged = damaged.Error()
		if !st.Loaded() || st.ActiveState == "inactive" {
			run.State = "damaged"
		}
	}
	if spec != nil {
		run.Command, run.Dir, run.Created, run.CommandLine = spec.Argv, spec.Dir, spec.Created, spec.CommandLine()
		run.Stack = spec.Stack
	} else if cl, _, ok := units.ParseDescription(name, st.Description); ok {
		run.CommandLine = cl // what run put in the Description: no file to read
	}
	if st.Loaded() && st.ActiveState != "inactive" {
		run.State, run.SubState, run.Result = st.ActiveState, st.SubState, st.Result
		run.PID, run.InvocationID, run.Restarts = st.MainPID, st.InvocationID, st.NRestarts
		run.LastExit = ended(st)
		// Burst N+1 starts: after N restarts the next is refused, and
		// systemd 252 reports the last exit rather than start-limit-hit.
		run.LimitHit = st.ActiveState == "failed" && (st.Result == "start-limit-hit" ||
			spec != nil && spec.MaxRestarts > 0 && int(st.NRestarts) > spec.MaxRestarts)
		if run.LimitHit && run.Restarts > 0 {
			run.Restarts-- // systemd counts the restart its limit refused
		}
		if at := st.RestartAt(); !at.IsZero() {
			run.RestartAt = &at
		}
		if run.Running() && st.MemoryCurrent != ^uint64(0) {
			v := st.MemoryCurrent
			run.MemoryBytes = &v
		}
		if run.Running() && st.CPUUsageNSec != ^uint64(0) {
			v := float64(st.CPUUsageNSec) / 1e9
			run.CPUSec = &v
		}
		if run.Running() && !st.ExecMainStart.IsZero() {
			since := st.ExecMainStart
			run.Since = &since
			run.UptimeSec = now.Sub(since).Round(time.Millisecond).Seconds()
		}
	}
	if run.LastExit == "" && !run.Running() {
		// Collected by systemd, or before a reboot: as recorded.
		if rec, _, ok := r.lastExit(name); ok {
			run.LastExit = rec.String()
			if rec.Down {
				run.DownBoot = rec.Boot
			}
		}
	}
	return run
}

// ListOptions say what List reads beyond what every listing needs.
type ListOptions struct {
	// Full: every kept spec is read (argv, directory for --json), and
	// systemd is asked each running run's main pid; otherwise only the
	// specs of runs systemd does not have loaded or that failed (a running
	// unit's Description already holds its command line, and reading a
	// thousand files is most of what a listing would cost), and the pid
	// of a run whose control group has one process is that process.
	Full bool
	// Usage: the memory and CPU time of running runs, read from their
	// control groups while systemd answers (Layout.CgroupRoot); those not
	// found there are asked of the manager.
	Usage bool
}

// List returns every run runctl keeps or systemd knows, by name.
func (r *Runs) List(ctx context.Context, opt ListOptions) ([]Run, error) {
	full := opt.Full
	// The control groups are read while systemd lists the units: a few
	// files a run (~30 ms of CPU for 1,000 runs here). A Get of a unit's
	// pid, start, MemoryCurrent and CPUUsageNSec costs PID 1 more than
	// that, and both sides a message (ls of 1,000 runs took 1.9 times as
	// long with two Gets more a run).
	var cgroups chan map[string]systemdctl.Usage
	if r.Layout.CgroupRoot != "" && (opt.Usage || !full) {
		cgroups = make(chan map[string]systemdctl.Usage, 1)
		go func() {
			cgroups <- systemdctl.ReadUsage(r.Layout.CgroupRoot, r.Scope().CgroupSlice(), units.UnitPrefix, !full, opt.Usage)
		}()
	}
	var seen map[string]systemdctl.Usage
	observed := func() map[string]systemdctl.Usage {
		if cgroups != nil {
			seen, cgroups = <-cgroups, nil
		}
		return seen
	}
	props := func(st *systemdctl.State) []string {
		var restarts bool
		if name, ok := units.NameFromUnit(st.Unit); ok {
			_, restarts, _ = units.ParseDescription(name, st.Description)
		}
		if !full && st.ActiveState == "active" {
			// One process in the cgroup of an active service: its main.
			if u := observed()[st.Unit]; u.PID != 0 {
				st.MainPID, st.ExecMainStart = u.PID, u.Started
				if restarts {
					return []string{"NRestarts"}
				}
				return nil
			}
		}
		p := systemdctl.BriefProps(st.ActiveState, restarts)
		if full {
			p = append(p, "InvocationID")
		}
		if st.SubState == "auto-restart" {
			p = append(p, systemdctl.RestartProps...)
		}
		return p
	}
	// The folders are read while systemd answers (1,000 runs: 4 ms).
	type kept struct {
		names     []string
		err       error
		autostart map[string]bool
	}
	store := make(chan kept, 1)
	go func() {
		names, err := r.Store.Names()
		store <- kept{names, err, r.slots().AutostartNames()}
	}()
	t0 := time.Now()
	states, err := r.Manager.List(ctx, props, units.UnitPrefix+"*.service")
	if err != nil {
		return nil, err
	}
	if opt.Usage {
		if err := r.usage(ctx, states, observed()); err != nil {
			return nil, err
		}
	}
	t1 := time.Now()
	k := <-store
	names, err := k.names, k.err
	if errors.Is(err, os.ErrPermission) {
		// The specs are root's (they hold environments); what systemd
		// knows is still listed.
		r.Log.Info().Err(err).Msg("kept runs not readable")
		names, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	known := make(map[string]bool, len(names))
	for _, n := range names {
		known[n] = true
	}
	now := time.Now()
	runs := make([]Run, 0, len(names))
	for _, st := range states {
		name, ok := units.NameFromUnit(st.Unit)
		if !ok {
			continue
		}
		var spec *units.Spec
		var damaged error
		_, _, described := units.ParseDescription(name, st.Description)
		if known[name] && (full || !described || st.ActiveState == "failed" || st.ActiveState == "inactive") {
			spec, damaged = r.loadDamaged(name)
		}
		runs = append(runs, r.makeRun(name, spec, damaged, known[name], st, now))
		delete(known, name)
	}
	for _, name := range names {
		if known[name] {
			spec, damaged := r.loadDamaged(name)
			if spec == nil && damaged == nil {
				continue // removed meanwhile
			}
			runs = append(runs, r.makeRun(name, spec, damaged, true, systemdctl.State{}, now))
		}
	}
	for i := range runs {
		runs[i].Autostart = k.autostart[runs[i].Name]
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Name < runs[j].Name })
	r.Log.Debug().Int("units", len(states)).Dur("systemd", t1.Sub(t0)).Int("kept", len(names)).Dur("store", time.Since(t1)).Msg("listed runs")
	return runs, nil
}

// usage puts the memory and CPU time of each running unit into its state:
// as read from the control groups (found; nil: none read), else from the
// manager, in one round of Gets for those not found (a unit in another
// slice, or started meanwhile).
func (r *Runs) usage(ctx context.Context, states []systemdctl.State, found map[string]systemdctl.Usage) error {
	var ask []string
	for i, st := range states {
		if !st.Running() {
			continue
		}
		if u, ok := found[st.Unit]; ok && (u.MemoryBytes != ^uint64(0) || u.CPUNSec != ^uint64(0)) {
			states[i].MemoryCurrent, states[i].CPUUsageNSec = u.MemoryBytes, u.CPUNSec
		} else if st.ActiveState != "activating" {
			// Activating: waiting to restart, or in ExecStartPre=; nothing
			// to count yet, or not for long.
			ask = append(ask, st.Unit)
		}
	}
	if len(ask) == 0 {
		return nil
	}
	asked, err := r.Manager.UsageOf(ctx, ask)
	if err != nil {
		return err
	}
	for i, st := range states {
		if u, ok := asked[st.Unit]; ok {
			states[i].MemoryCurrent, states[i].CPUUsageNSec = u.MemoryBytes, u.CPUNSec
		}
	}
	return nil
}

// loadDamaged reads a kept spec; a spec that is kept but cannot be used
// is returned as the error, anything else as neither.
func (r *Runs) loadDamaged(name string) (*units.Spec, error) {
	spec, err := r.Store.Load(name)
	var damaged *specstore.DamagedError
	if errors.As(err, &damaged) {
		return nil, damaged
	}
	return spec, nil
}

// AmbiguousError: a verb given no NAME found several runs it could act
// on, and acts on none.
type AmbiguousError struct {
	What  string   // "running", or "runctl keeps"
	Names []string // by name
}

func (e *AmbiguousError) Error() string {
	return fmt.Sprintf("%d runs %s (%s): name the ones to act on", len(e.Names), e.What, strings.Join(e.Names, ", "))
}

// OnlyRun is the run a verb given no NAME acts on: the one running run
// (with known, else the one run runctl keeps). None is ErrNothingRunning
// (with known, an error saying runctl knows no run), several an
// *AmbiguousError listing them: acting on a guess stops the wrong node.
func (r *Runs) OnlyRun(ctx context.Context, known bool) (string, error) {
	runs, err := r.List(ctx, ListOptions{})
	if err != nil {
		return "", err
	}
	var running, kept []string
	for _, run := range runs {
		if run.Running() {
			running = append(running, run.Name)
		}
		if run.Known {
			kept = append(kept, run.Name)
		}
	}
	switch {
	case len(running) == 1:
		return running[0], nil
	case len(running) > 1:
		return "", &AmbiguousError{What: "are running", Names: running}
	case !known:
		return "", ErrNothingRunning
	case len(kept) == 1:
		return kept[0], nil
	case len(kept) > 1:
		return "", &AmbiguousError{What: "are kept by runctl, none running", Names: kept}
	}
	return "", errors.New("runctl knows no run (start one with runctl run)")
}
