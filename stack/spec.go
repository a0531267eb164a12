package stack

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/runctl/runctl/units"
)

// Defaults of the run flags a stack run leaves out, as runctl run has them.
const (
	defaultRestartDelay = 100 * time.Millisecond
	defaultWithin       = 10 * time.Second
)

// SourceFunc is the environment a shell has after sourcing files in dir,
// started with env (runctl run's --source).
type SourceFunc func(files, env []string, dir string) ([]string, error)

// Spec is the spec run r of stack asks for, as runctl run would make it
// with the same flags and --clean-env, -d: dir (default: base, the stack
// file's folder) and the command are looked up on this machine; source
// reads the files the run's source names (relative to base, as env-file),
// nil refuses them. Created is left zero: the caller sets it for a run it
// starts.
func (r *Run) Spec(stack, base string, source SourceFunc) (*units.Spec, error) {
	spec, err := r.spec(stack, base, source)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", r.Name, err)
	}
	return spec, nil
}

func (r *Run) spec(stack, base string, source SourceFunc) (*units.Spec, error) {
	if len(r.Source) > 0 && source == nil {
		return nil, errors.New("source is not supported here")
	}
	dir := base
	if r.Dir != "" {
		dir = r.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(base, dir)
		}
	}
	dir = filepath.Clean(dir)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("dir %s is not a folder on this machine", dir)
	}
	// As runctl run's --env-file (relative to the stack file's folder),
	// which env, as -E, overrides.
	var extra []string
	for _, f := range r.EnvFile {
		if !filepath.IsAbs(f) {
			f = filepath.Join(base, f)
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("env-file %s: %w", f, errors.Unwrap(err))
		}
		vars, err := units.ReadEnvLines(data)
		if err != nil {
			return nil, fmt.Errorf("env-file %s: %w", f, err)
		}
		extra = append(extra, vars...)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Env)) {
		extra = append(extra, k+"="+r.Env[k])
	}
	var sourced []string
	if len(r.Source) > 0 {
		files := make([]string, len(r.Source))
		for i, f := range r.Source {
			if !filepath.IsAbs(f) {
				f = filepath.Join(base, f)
			}
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("source %s: %w", f, errors.Unwrap(err))
			}
			files[i] = f
		}
		var err error
		if sourced, err = source(files, nil, dir); err != nil {
			return nil, err
		}
	}
	env, _, err := units.CaptureEnv(sourced, extra, dir)
	if err != nil {
		return nil, err
	}
	path, err := units.ResolveExecutable(r.Command[0], units.SearchPath(env), dir)
	if err != nil {
		return nil, fmt.Errorf("command %q: %w", r.Command[0], err)
	}
	spec := &units.Spec{
		Version:     units.SpecVersion,
		Name:        r.Name,
		Argv:        slices.Clone(r.Command),
		Path:        path,
		Dir:         dir,
		Env:         env,
		User:        r.UID,
		Group:       r.GID,
		StopTimeout: units.Duration(units.DefaultStopTimeout),
		Restart:     "no",
		NoLogLimit:  r.NoLogLimit,
		Buffered:    r.Buffered,
		Notify:      r.Notify,
		After:       slices.Clone(r.After),
		Wants:       slices.Clone(r.Wants),
		Stack:       stack,
	}
	if r.StopTimeout != nil {
		spec.StopTimeout = units.Duration(*r.StopTimeout)
	}
	if r.Restart != "" {
		spec.Restart = r.Restart
	}
	if spec.Restart != "no" {
		spec.RestartDelay = units.Duration(defaultRestartDelay)
		if r.RestartDelay != nil {
			spec.RestartDelay = units.Duration(*r.RestartDelay)
		}
	}
	if r.MaxRestarts == "none" {
		spec.NoRestartLimit = true
	} else if r.MaxRestarts != "" {
		n, _ := strconv.Atoi(r.MaxRestarts) // checked by Parse
		if n > 0 {
			spec.MaxRestarts, spec.Within = n, units.Duration(defaultWithin)
			if r.Within != nil {
				spec.Within = units.Duration(*r.Within)
			}
		}
	}
	if r.Watchdog != nil {
		spec.Watchdog = units.Duration(*r.Watchdog)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Property)) {
		for _, v := range r.Property[k] {
			spec.Properties = append(spec.Properties, k+"="+v)
		}
	}
	if r.StopSignal != "" {
		if _, err := units.ParseSignal(r.StopSignal); err != nil {
			return nil, fmt.Errorf("invalid stop-signal: %w", err)
		}
		spec.Properties = append(spec.Properties, "KillSignal="+r.StopSignal)
	}
	spec.Properties = sortProperties(spec.Properties)
	if err := spec.Validate(); err != nil {
		return nil, errors.Unwrap(err)
	}
	return spec, nil
}

// sortProperties orders KEY=VALUE settings by key, keeping the order of
// the values of one key: the order a stack file's property map gives.
func sortProperties(kvs []string) []string {
	if kvs == nil {
		return nil
	}
	out := slices.Clone(kvs)
	slices.SortStableFunc(out, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "=")
		kb, _, _ := strings.Cut(b, "=")
		return strings.Compare(ka, kb)
	})
	return out
}

// FromSpec is the stack file entry apply makes spec again from, with
// enable if the run is enabled. A command found relative to the folder
// runctl run was called from cannot be said again: it is written by its
// absolute path and lossy says so.
func FromSpec(spec *units.Spec, enable bool) (r Run, lossy string) {
	r = Run{
		Name:       spec.Name,
		Command:    slices.Clone(spec.Argv),
		Dir:        spec.Dir,
		UID:        spec.User,
		GID:        spec.Group,
		NoLogLimit: spec.NoLogLimit,
		Buffered:   spec.Buffered,
		Notify:     spec.Notify,
		After:      slices.Clone(spec.After),
		Wants:      slices.Clone(spec.Wants),
		Enable:     enable,
	}
	if a0 := spec.Argv[0]; strings.Contains(a0, "/") && !filepath.IsAbs(a0) && filepath.Join(spec.Dir, a0) != spec.Path {
		r.Command[0] = spec.Path
		lossy = fmt.Sprintf("its command %s was found relative to the folder runctl run was called from, not to its dir: written as %s", a0, spec.Path)
	}
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		if k == "PWD" && v == spec.Dir {
			continue // every run gets it
		}
		if r.Env == nil {
			r.Env = map[string]string{}
		}
		r.Env[k] = v
	}
	if spec.Restarts() {
		r.Restart = spec.Restart
		if spec.RestartDelay != units.Duration(defaultRestartDelay) {
			d := Duration(spec.RestartDelay)
			r.RestartDelay = &d
		}
	}
	if spec.NoRestartLimit {
		r.MaxRestarts = "none"
	}
	if spec.MaxRestarts > 0 {
		r.MaxRestarts = strconv.Itoa(spec.MaxRestarts)
		if spec.Within != units.Duration(defaultWithin) {
			d := Duration(spec.Within)
			r.Within = &d
		}
	}
	if spec.StopTimeout != units.Duration(units.DefaultStopTimeout) {
		d := Duration(spec.StopTimeout)
		r.StopTimeout = &d
	}
	if spec.Watchdog > 0 {
		d := Duration(spec.Watchdog)
		r.Watchdog = &d
	}
	for _, kv := range spec.Properties {
		k, v, _ := strings.Cut(kv, "=")
		if k == "KillSignal" {
			r.StopSignal = v
			continue
		}
		if r.Property == nil {
			r.Property = Properties{}
		}
		r.Property[k] = append(r.Property[k], v)
	}
	return r, lossy
}
