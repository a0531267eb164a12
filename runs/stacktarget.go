package runs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/runs/slot"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/units"
)

// An enabled stack is one systemd target, runctl-STACK.target, beside the
// unit files of enabled runs, and enabled itself. The stack's enabled runs
// start at boot by their own links, in the order their After= gives; the
// target does not Wants= them, since a unit a loaded target wants stays
// loaded once stopped: a transient instance of a run enabled while it ran
// would shadow its unit file for good (slot.Plan unloads it by unlinking
// it for a reload). Every run of the stack, enabled or not, gets a drop-in beside it
// with PartOf= the target, so `systemctl restart runctl-STACK.target`
// restarts them all and a stop of it stops them; a run's own end touches
// no other (no Requires=). The target follows the runs: it is there while
// at least one run of the stack is enabled, and goes with the last.

// StackTarget is the unit name of a stack's target.
func StackTarget(stack string) string { return units.UnitPrefix + stack + ".target" }

// stackDropInName is the member's drop-in beside its unit file.
const stackDropInName = "50-runctl-stack.conf"

func (r *Runs) stackTargetFile(stack string) string {
	return filepath.Join(r.UnitDir, StackTarget(stack))
}

func (r *Runs) stackDropIn(name string) string {
	return filepath.Join(r.UnitDir, units.UnitName(name)+".d", stackDropInName)
}

// Stacked is what SyncStack did.
type Stacked struct {
	Stack  string `json:"stack"`
	Target string `json:"target"`
	// File is the target's unit file; "" when the stack has none (no run
	// of it is enabled).
	File string `json:"file,omitempty"`
	// Wants are the stack's enabled runs, by name: they start at boot by
	// their own links, not by the target (see above); the JSON name is the
	// one scripts know.
	Wants []string `json:"wants"`
	// Members are the runs the target restarts and stops (PartOf=).
	Members []string `json:"members"`
	// Changed: a file was written or removed.
	Changed bool `json:"changed"`
}

// IsEnabled says whether runctl wrote the run's unit file (runctl enable).
func (r *Runs) IsEnabled(name string) bool { return r.slots().Enabled(name) }

// StackOf is the stack the run's kept spec names, "" if none or unreadable.
func (r *Runs) StackOf(name string) string {
	spec, err := r.Store.Load(name)
	if err != nil {
		return ""
	}
	return spec.Stack
}

// Stacks lists the stacks that have a target runctl wrote.
func (r *Runs) Stacks() []string {
	var out []string
	ents, _ := os.ReadDir(r.UnitDir)
	for _, ent := range ents {
		stack, ok := strings.CutPrefix(ent.Name(), units.UnitPrefix)
		if stack, ok2 := strings.CutSuffix(stack, ".target"); ok && ok2 && units.ValidateName(stack) == nil {
			if own, _ := slot.OwnUnitFile(filepath.Join(r.UnitDir, ent.Name())); own {
				out = append(out, stack)
			}
		}
	}
	return out
}

// SyncStack brings the stack's target and its runs' drop-ins in step with
// the runs runctl keeps in the stack and which of them are enabled, and
// reloads the manager if it changed a file.
func (r *Runs) SyncStack(ctx context.Context, stack string) (Stacked, error) {
	res := Stacked{Stack: stack, Target: StackTarget(stack), Wants: []string{}, Members: []string{}}
	names, err := r.Store.Names()
	if err != nil {
		return res, err
	}
	slices.Sort(names)
	var members []string
	for _, name := range names {
		spec, err := r.Store.Load(name)
		var damaged *specstore.DamagedError
		switch {
		case errors.As(err, &damaged), errors.Is(err, specstore.ErrNotFound):
			continue
		case err != nil:
			return res, err
		}
		if spec.Stack == stack {
			members = append(members, name)
			if r.slots().Enabled(name) {
				res.Wants = append(res.Wants, name)
			}
		}
	}
	path := r.stackTargetFile(stack)
	own, exists := slot.OwnUnitFile(path)
	if exists && !own {
		return res, fmt.Errorf("cannot write the target of stack %s: %w: %s is a unit file runctl did not write (%s); runctl neither overwrites nor removes it", stack, ErrTaken, path, slot.FileOwner(path))
	}
	if len(res.Wants) > 0 {
		res.File, res.Members = path, members
		data, err := r.renderStackTarget(stack)
		if err != nil {
			return res, err
		}
		if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, data) {
			if err := os.MkdirAll(r.UnitDir, 0o755); err != nil {
				return res, r.permissionHint(fmt.Errorf("cannot write the target of stack %s: %w", stack, err))
			}
			if err := atomicfile.Write(path, data, 0o644); err != nil {
				return res, r.permissionHint(fmt.Errorf("cannot write the target of stack %s: %w", stack, err))
			}
			res.Changed = true
		}
	} else if exists {
		// Unlinked first: a link left dangling would name a missing unit.
		if err := r.Manager.Disable(ctx, StackTarget(stack)); err != nil {
			return res, r.permissionHint(fmt.Errorf("cannot remove the target of stack %s: %w", stack, err))
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return res, r.permissionHint(fmt.Errorf("cannot remove the target of stack %s: %w", stack, err))
		}
		res.Changed = true
	}
	changed, err := r.syncStackDropIns(stack, res.Members)
	if err != nil {
		return res, err
	}
	if res.Changed || changed {
		res.Changed = true
		if err := r.Manager.Reload(ctx); err != nil {
			return res, fmt.Errorf("cannot load the target of stack %s: %w", stack, err)
		}
	}
	if res.File != "" && !r.stackLinked(stack) {
		if err := r.Manager.Enable(ctx, path); err != nil {
			return res, r.permissionHint(fmt.Errorf("cannot enable the target of stack %s: %w", stack, err))
		}
		res.Changed = true
	}
	return res, nil
}

// renderStackTarget is the target's unit file.
func (r *Runs) renderStackTarget(stack string) ([]byte, error) {
	wantedBy, err := units.WantedBy(r.Scope().String())
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s enable --stack; runctl disable --stack removes it.\n", units.UnitFileMarker)
	fmt.Fprintf(&b, "[Unit]\nDescription=runctl stack %s\n", stack)
	fmt.Fprintf(&b, "\n[Install]\nWantedBy=%s\n", wantedBy)
	return b.Bytes(), nil
}

// stackDropInData is a member's drop-in.
func stackDropInData(stack string) []byte {
	return []byte(fmt.Sprintf("%s: this run is in stack %s, whose target restarts and stops it.\n[Unit]\nPartOf=%s\n", units.UnitFileMarker, stack, StackTarget(stack)))
}

// syncStackDropIns gives each of members the drop-in for stack, and takes
// it from every other run that has it (one that left the stack, or all
// when the stack has no target).
func (r *Runs) syncStackDropIns(stack string, members []string) (bool, error) {
	want := stackDropInData(stack)
	changed := false
	ents, _ := os.ReadDir(r.UnitDir)
	for _, ent := range ents {
		name, ok := strings.CutSuffix(ent.Name(), ".d")
		if !ok {
			continue
		}
		name, ok = units.NameFromUnit(name)
		if !ok || slices.Contains(members, name) {
			continue
		}
		path := r.stackDropIn(name)
		if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
			if err := os.Remove(path); err != nil {
				return changed, r.permissionHint(fmt.Errorf("cannot remove %s: %w", path, err))
			}
			os.Remove(filepath.Dir(path)) // kept if someone else put a drop-in there
			changed = true
		}
	}
	for _, name := range members {
		path := r.stackDropIn(name)
		if have, err := os.ReadFile(path); err == nil && bytes.Equal(have, want) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return changed, r.permissionHint(fmt.Errorf("cannot add %s to the target of stack %s: %w", name, stack, err))
		}
		if err := atomicfile.Write(path, want, 0o644); err != nil { // it names path
			return changed, r.permissionHint(fmt.Errorf("cannot add %s to the target of stack %s: %w", name, stack, err))
		}
		changed = true
	}
	return changed, nil
}

// stackLinked says whether the boot target wants the stack's target.
func (r *Runs) stackLinked(stack string) bool {
	dir, err := r.slots().WantsDir()
	if err != nil {
		return false
	}
	lfi, err := os.Stat(filepath.Join(dir, StackTarget(stack)))
	if err != nil {
		return false
	}
	fi, err := os.Stat(r.stackTargetFile(stack))
	return err == nil && os.SameFile(fi, lfi)
}

// Unhold lets the enabled runs names, stopped, unload: a stopped enabled
// run stays loaded while the boot target or its stack's target wants it,
// and keeps loaded, as made, every transient run it starts after, which
// then cannot be made again from a changed spec. Their links and the
// stack's target go for one reload; Relink (and each run's next start)
// puts them back, SyncStack the target.
func (r *Runs) Unhold(ctx context.Context, stack string, names []string) error {
	path := r.stackTargetFile(stack)
	if own, _ := slot.OwnUnitFile(path); own {
		if err := r.Manager.Disable(ctx, StackTarget(stack)); err != nil {
			return r.permissionHint(fmt.Errorf("cannot unlink the target of stack %s: %w", stack, err))
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return r.permissionHint(fmt.Errorf("cannot remove the target of stack %s: %w", stack, err))
		}
	}
	if _, err := r.syncStackDropIns(stack, nil); err != nil {
		return err
	}
	var unitNames []string
	for _, n := range names {
		unitNames = append(unitNames, units.UnitName(n))
	}
	if len(unitNames) > 0 {
		if err := r.Manager.Disable(ctx, unitNames...); err != nil {
			return r.permissionHint(fmt.Errorf("cannot unlink %s for a moment: %w", strings.Join(names, ", "), err))
		}
	}
	return r.Manager.Reload(ctx)
}

// Relink links the enabled runs of names into the boot target again,
// those whose start did not (Unhold).
func (r *Runs) Relink(ctx context.Context, names []string) error {
	var errs []error
	for _, n := range names {
		if r.slots().Enabled(n) {
			errs = append(errs, r.slots().LinkUnitFile(ctx, n))
		}
	}
	return errors.Join(errs...)
}
