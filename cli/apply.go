package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/stack"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// ApplyCmd brings the runs of a stack file to the file's state.
type ApplyCmd struct {
	File     string        `arg:"" help:"The stack file (YAML; - reads it from stdin)." placeholder:"FILE"`
	Prune    bool          `help:"Also stop and forget the runs of the stack that are no longer in the file."`
	DryRun   bool          `help:"Show what would be done, and do nothing."`
	Settle   time.Duration `help:"${settle_help}" default:"${settle}" placeholder:"DUR"`
	Rollback bool          `help:"For a run it replaces: ${rollback_help}"`
}

// Applied is one run's part of an apply; its JSON is an entry of
// `apply --json`.
type Applied struct {
	stack.Step
	// Result is what was done: unchanged, started, replaced, restarted, enabled,
	// disabled, stopped (pruned), left, failed, rolled back, skipped; "" in a
	// dry run.
	Result string `json:"result,omitempty"`
	PID    uint32 `json:"pid,omitempty"`
	// RolledBack: the replace failed to come up and the previous spec runs
	// again (--rollback); the run counts as failed.
	RolledBack bool `json:"rolled_back,omitempty"`
}

// applyReport is what `apply --json` prints.
type applyReport struct {
	Stack  string    `json:"stack"`
	DryRun bool      `json:"dry_run"`
	Runs   []Applied `json:"runs"`
	Failed int       `json:"failed"`
	// Target is the stack's target (runctl-STACK.target), there while
	// a run of the stack is enabled.
	Target      *runs.Stacked `json:"target,omitempty"`
	TargetError string        `json:"target_error,omitempty"`
}

func (c *ApplyCmd) Run(ctx context.Context, g *Globals, out *Output, provide Lifecycle) error {
	if err := checkSettle(c.Settle); err != nil {
		return err
	}
	file, specs, enable, err := c.read(ctx, g)
	if err != nil {
		return err
	}
	rs, err := provide()
	if err != nil {
		return err
	}
	current, err := currentRuns(ctx, rs, specs)
	if err != nil {
		return err
	}
	steps, err := stack.Plan(file.Name, specs, enable, current, c.Prune)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("cannot apply stack %s: %w; nothing was changed", file.Name, err)}
	}
	report := applyReport{Stack: file.Name, DryRun: c.DryRun}
	failed := map[string]bool{}
	stopErr := map[string]error{}
	var unheld []string
	if !c.DryRun {
		stopErr = stopFirst(ctx, rs, steps)
		unheld = unhold(ctx, out, rs, file.Name, steps, stopErr)
	}
	for _, st := range steps {
		var a Applied
		switch {
		case c.DryRun:
			a = Applied{Step: st}
			if st.Action == stack.Refuse {
				failed[st.Name] = true
			}
		case stopErr[st.Name] != nil:
			a = Applied{Step: st, Result: "failed"}
			a.Error = stopErr[st.Name].Error()
			failed[st.Name] = true
		default:
			a = c.apply(ctx, rs, st, current[st.Name], failed)
		}
		report.Runs = append(report.Runs, a)
		if !out.JSON {
			printApplied(out, a, c.DryRun)
		}
	}
	report.Failed = len(failed)
	if err := rs.Relink(ctx, unheld); err != nil {
		fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
	}
	if !c.DryRun {
		// The stack's target follows its enabled runs.
		targets, err := syncStackList(ctx, out, rs, []string{file.Name})
		if err != nil {
			fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
			report.Failed++
			report.TargetError = err.Error()
		} else {
			report.Target = &targets[0]
		}
	}
	if out.JSON {
		if err := out.PrintJSON(report); err != nil {
			return err
		}
	}
	if report.Failed > 0 {
		what := "cannot apply"
		if c.DryRun {
			what = "would not apply"
		}
		return &ExitError{Code: 1, Reported: out.JSON, Err: fmt.Errorf("%s %d of the runs of stack %s; the others are as shown", what, report.Failed, file.Name)}
	}
	return nil
}

// content is the stack file's text (stdin for -).
func (c *ApplyCmd) content() ([]byte, error) {
	var data []byte
	var err error
	if c.File == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(c.File)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the stack file: %w", err)
	}
	return data, nil
}

// read reads and checks the file and makes each run's spec: a file that
// cannot be made into specs changes nothing.
func (c *ApplyCmd) read(ctx context.Context, g *Globals) (*stack.File, []*units.Spec, map[string]bool, error) {
	data, err := c.content()
	if err != nil {
		return nil, nil, nil, err
	}
	base := filepath.Dir(c.File)
	if c.File == "-" {
		base, _ = os.Getwd()
	}
	if base, err = filepath.Abs(base); err != nil {
		return nil, nil, nil, fmt.Errorf("cannot read the stack file: %w", err)
	}
	file, err := stack.Parse(data)
	if err != nil {
		return nil, nil, nil, usage("%v", err)
	}
	var specs []*units.Spec
	enable := map[string]bool{}
	var errs []error
	for _, r := range file.Runs {
		spec, err := r.Spec(file.Name, base, stackSource(ctx))
		if err == nil {
			err = checkIdentity(g, spec)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		specs = append(specs, spec)
		enable[r.Name] = r.Enable
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, nil, fmt.Errorf("cannot apply stack %s: %w; nothing was changed", file.Name, err)
	}
	return file, specs, enable, nil
}

// checkIdentity checks the users and groups a spec names, as run does.
func checkIdentity(g *Globals, spec *units.Spec) error {
	if (spec.User != "" || spec.Group != "") && g.Scope() == systemdctl.User {
		return fmt.Errorf("run %s: uid and gid need the system manager (sudo runctl ...): a user manager runs everything as you", spec.Name)
	}
	if spec.User != "" {
		if _, err := lookupUser(spec.User); err != nil {
			return fmt.Errorf("run %s: invalid uid: %w", spec.Name, err)
		}
	}
	if spec.Group != "" {
		if _, err := lookupGroup(spec.Group); err != nil {
			return fmt.Errorf("run %s: invalid gid: %w", spec.Name, err)
		}
	}
	for _, gr := range units.SupplementaryGroups(spec.Properties) {
		if _, err := lookupGroup(gr); err != nil {
			return fmt.Errorf("run %s: invalid SupplementaryGroups: %w", spec.Name, err)
		}
	}
	return nil
}

// currentRuns is what the manager has of the file's runs and of every run
// runctl keeps.
func currentRuns(ctx context.Context, rs *runs.Runs, specs []*units.Spec) (map[string]stack.Current, error) {
	list, err := rs.List(ctx, runs.ListOptions{})
	if err != nil {
		return nil, err
	}
	current := map[string]stack.Current{}
	for _, r := range list {
		current[r.Name] = stack.Current{Running: r.Running(), Enabled: r.Autostart, Loaded: r.State != "stopped" && r.State != "damaged"}
	}
	names, err := rs.Store.Names()
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	for _, name := range names {
		spec, err := rs.Store.Load(name)
		cur := current[name]
		var damaged *specstore.DamagedError
		switch {
		case err == nil:
			cur.Spec = spec
		case errors.Is(err, specstore.ErrNotFound):
			if _, ok := current[name]; !ok {
				continue
			}
		case errors.As(err, &damaged):
			cur.Damaged = err
		default:
			return nil, err
		}
		current[name] = cur
	}
	return current, nil
}

// stopFirst stops the runs that start after a run to replace, last
// first: while systemd has them loaded it keeps that run as it was made.
func stopFirst(ctx context.Context, rs *runs.Runs, steps []stack.Step) map[string]error {
	errs := map[string]error{}
	for _, st := range slices.Backward(steps) {
		if !st.StopFirst {
			continue
		}
		if _, err := rs.Stop(ctx, st.Name, 0, false); err != nil && !errors.Is(err, runs.ErrNotRunning) {
			errs[st.Name] = err
		}
	}
	return errs
}

// unhold lets the enabled runs apply stopped first unload (Runs.Unhold)
// when a run they start after is replaced: loaded, they would keep it as
// it was made. It returns the runs to link again at the end.
func unhold(ctx context.Context, out *Output, rs *runs.Runs, stackName string, steps []stack.Step, stopErr map[string]error) []string {
	var names []string
	replaced := false
	for _, st := range steps {
		replaced = replaced || st.Action == stack.Replace
		if st.StopFirst && stopErr[st.Name] == nil && rs.IsEnabled(st.Name) {
			names = append(names, st.Name)
		}
	}
	if !replaced || len(names) == 0 {
		return nil
	}
	if err := rs.Unhold(ctx, stackName, names); err != nil {
		fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
	}
	return names
}

// apply does one step; failed holds the runs that failed so far, and
// gets this one if it fails.
func (c *ApplyCmd) apply(ctx context.Context, rs *runs.Runs, st stack.Step, cur stack.Current, failed map[string]bool) (a Applied) {
	a.Step = st
	fail := func(err error) Applied {
		a.Result, a.Error = "failed", err.Error()
		failed[st.Name] = true
		return a
	}
	switch st.Action {
	case stack.Unchanged:
		a.Result = "unchanged"
		return a
	case stack.Leave:
		a.Result = "left"
		return a
	case stack.Refuse:
		a.Result = "failed"
		failed[st.Name] = true
		return a
	case stack.Prune:
		if err := rs.Remove(ctx, st.Name, true); err != nil {
			return fail(err)
		}
		a.Result = "stopped"
		return a
	case stack.Enable:
		if _, err := rs.Enable(ctx, st.Name); err != nil {
			return fail(err)
		}
		a.Result = "enabled"
		return a
	case stack.Disable:
		if _, err := rs.Disable(ctx, st.Name); err != nil {
			return fail(err)
		}
		a.Result = "disabled"
		return a
	}
	for _, after := range st.After {
		// A run apply stopped first is started again all the same.
		if failed[after] && !st.StopFirst {
			a.Result, a.Error = "skipped", fmt.Sprintf("it starts after %s, which failed: left as it was", after)
			failed[st.Name] = true
			return a
		}
	}
	if st.Disable {
		if _, err := rs.Disable(ctx, st.Name); err != nil {
			return fail(err)
		}
	}
	if st.Action == stack.Adopt {
		if err := adopt(ctx, rs.Store, st.Spec); err != nil {
			return fail(err)
		}
		a.Result = "unchanged"
		if st.Enable {
			if _, err := rs.Enable(ctx, st.Name); err != nil {
				return fail(err)
			}
			a.Result = "enabled"
		}
		return a
	}
	spec := st.Spec
	if spec.Created.IsZero() {
		spec.Created = time.Now().UTC().Round(time.Second)
	}
	res, _, err := rs.Start(ctx, spec, runs.StartOptions{Replace: true, Enable: st.Enable, Settle: c.Settle})
	a.PID = res.PID
	if err != nil && c.Rollback && st.Action == stack.Replace && cur.Running {
		rb, rerr := rollBack(ctx, rs, cur.Spec, res.Cycle, err, c.Settle)
		if rb.RolledBack {
			a = fail(rerr)
			a.Result, a.RolledBack, a.PID = "rolled back", true, rb.RollbackPID
			return a
		}
		return fail(rerr)
	}
	if err != nil {
		return fail(err)
	}
	switch st.Action {
	case stack.Replace:
		a.Result = "replaced"
	case stack.Restart:
		a.Result = "restarted"
	default:
		a.Result = "started"
	}
	return a
}

// adopt records that a run whose spec is the file's belongs to the stack,
// without touching the running instance: the spec is saved again with its
// stack, under the run's lock.
func adopt(ctx context.Context, store specstore.Store, spec *units.Spec) error {
	unlock, err := store.Lock(ctx, spec.Name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := store.Save(spec); err != nil {
		return fmt.Errorf("cannot record that %s is in stack %s: %w", spec.Name, spec.Stack, err)
	}
	return nil
}

// appliedWords say what was done to a run, and what would be in a dry run.
var appliedWords = map[string][2]string{
	stack.Start:   {"started", "would start"},
	stack.Replace: {"replaced", "would replace"},
	stack.Enable:  {"enabled", "would enable"},
	stack.Disable: {"disabled", "would disable"},
	stack.Prune:   {"stopped and forgot", "would stop and forget"},
	stack.Restart: {"restarted", "would restart"},
}

// printApplied says what was (or, in a dry run, would be) done to a run.
func printApplied(out *Output, a Applied, dry bool) {
	var line string
	if w, ok := appliedWords[a.Action]; ok {
		line = w[0] + " " + a.Name
		if dry {
			line = w[1] + " " + a.Name
		}
	}
	switch a.Action {
	case stack.Unchanged:
		line = "unchanged " + a.Name
	case stack.Adopt:
		line = "unchanged " + a.Name + " (now recorded in its stack)"
		if dry {
			line = "unchanged " + a.Name + " (would be recorded in its stack)"
		}
	case stack.Replace:
		line += " (changed: " + strings.Join(a.Changed, ", ") + ")"
	case stack.Prune:
		line += " (no longer in the file)"
	case stack.Restart:
		line += " (" + a.Why + ")"
	case stack.Leave:
		line = "left " + a.Name + " alone: no longer in the file (--prune stops and forgets it)"
	}
	if a.PID != 0 {
		line += fmt.Sprintf(", pid %d", a.PID)
	}
	switch {
	case (a.Action == stack.Start || a.Action == stack.Replace || a.Action == stack.Adopt || a.Action == stack.Restart) && a.Enable:
		line += ", enabled"
	case (a.Action == stack.Start || a.Action == stack.Replace || a.Action == stack.Adopt || a.Action == stack.Restart) && a.Disable:
		line += ", disabled"
	}
	switch {
	case a.Action == stack.Refuse && dry:
		fmt.Fprintf(out.Stderr, "runctl: would not apply %s: %s\n", a.Name, a.Error)
	case a.Result == "failed" || a.Result == "rolled back" || a.Action == stack.Refuse:
		fmt.Fprintf(out.Stderr, "runctl: %s\n", failure(a.Name, a.Error))
	case a.Result == "skipped":
		fmt.Fprintf(out.Stderr, "runctl: skipped %s: %s\n", a.Name, a.Error)
	default:
		fmt.Fprintln(out.Stdout, line)
	}
}

// failure is the line for run name's failure msg, which says once what
// could not be done: a verb's own error ("cannot start nav: ...") as it
// is, or with the run's name if it does not name it; any other reason
// after "cannot apply NAME".
func failure(name, msg string) string {
	head, _, _ := strings.Cut(msg, ": ")
	if !strings.HasPrefix(head, "cannot ") {
		return "cannot apply " + name + ": " + msg
	}
	for _, w := range strings.Fields(head) {
		if strings.Trim(w, `"`) == name {
			return msg
		}
	}
	return "run " + name + ": " + msg
}
