// Package specstore keeps each run's spec durably, so a run can be restarted,
// started again after a stop, or brought back after runctl itself died
// half-way, without retyping anything. Files are written atomically and are
// readable only by their owner: they hold the run's environment.
package specstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/units"
)

// ErrNotFound: no spec is kept under that name.
var ErrNotFound = errors.New("no such run")

// Store is a folder of NAME.json specs and NAME.env environment files.
type Store struct{ Dir string }

// SystemDir is where root's runs of the system manager are kept.
const SystemDir = "/var/lib/runctl/runs"

// UserDir is where a user's runs of their own manager are kept:
// $XDG_STATE_HOME/runctl/runs, or ~/.local/state/runctl/runs.
func UserDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "runctl", "runs"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cannot find where to keep your runs: %w", err)
	}
	return filepath.Join(home, ".local", "state", "runctl", "runs"), nil
}

func (s Store) specPath(name string) string { return filepath.Join(s.Dir, name+".json") }

// EnvFile is the run's environment in systemd's EnvironmentFile= format.
func (s Store) EnvFile(name string) string { return filepath.Join(s.Dir, name+".env") }

// Save writes the environment file, then the spec, each atomically.
func (s Store) Save(spec *units.Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	env, err := units.RenderEnvFile(spec.Env)
	if err != nil {
		return err
	}
	data, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", s.Dir, err)
	}
	if err := atomicfile.Write(s.EnvFile(spec.Name), env, 0o600); err != nil {
		return err
	}
	return atomicfile.Write(s.specPath(spec.Name), append(data, '\n'), 0o600)
}

// Load reads a run's spec.
func (s Store) Load(name string) (*units.Spec, error) {
	data, err := os.ReadFile(s.specPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w %q", ErrNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read the spec of %q: %w", name, err)
	}
	var spec units.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, fmt.Errorf("cannot read the spec of %q: %s is damaged: %w", name, s.specPath(name), err)
	}
	return &spec, nil
}

// Has says whether a spec is kept under name.
func (s Store) Has(name string) bool {
	_, err := os.Stat(s.specPath(name))
	return err == nil
}

// Names lists the kept runs without reading their specs, sorted. A missing
// folder is an empty store.
func (s Store) Names() ([]string, error) {
	f, err := os.Open(s.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cannot list runs in %s: %w", s.Dir, err)
	}
	defer f.Close()
	ents, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("cannot list runs in %s: %w", s.Dir, err)
	}
	var names []string
	for _, e := range ents {
		name, ok := strings.CutSuffix(e, ".json")
		if ok && !strings.HasPrefix(name, ".") && units.ValidateName(name) == nil {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// List returns every kept spec, by name.
func (s Store) List() ([]*units.Spec, error) {
	names, err := s.Names()
	if err != nil {
		return nil, err
	}
	var specs []*units.Spec
	for _, name := range names {
		spec, err := s.Load(name)
		if err != nil {
			continue // removed meanwhile, or damaged: Load reports it by name
		}
		specs = append(specs, spec)
	}
	return specs, nil
}

// Remove forgets a run.
func (s Store) Remove(name string) error {
	err := os.Remove(s.specPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("cannot forget %q: %w", name, err)
	}
	// The lock file stays: removing it would let a waiter and a newcomer
	// hold locks on two different files.
	if err := os.Remove(s.EnvFile(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot forget %q: %w", name, err)
	}
	return nil
}

// Lock serializes the runctl commands acting on one run, across processes,
// so that concurrent restarts end with exactly one instance. The kernel
// drops the lock when runctl exits, even by SIGKILL.
func (s Store) Lock(ctx context.Context, name string) (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create %s: %w", s.Dir, err)
	}
	path := filepath.Join(s.Dir, name+".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot lock run %q: %w", name, err)
	}
	got := make(chan error, 1)
	go func() { got <- unix.Flock(int(f.Fd()), unix.LOCK_EX) }()
	select {
	case err := <-got:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("cannot lock run %q: %w", name, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// The flock may still be granted later; closing the file drops it.
		go func() { <-got; f.Close() }()
		return nil, ctx.Err()
	}
}
