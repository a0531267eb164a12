// Package specstore keeps each run's spec durably, so a run can be restarted,
// started again after a stop, or brought back after runctl itself died
// half-way, without retyping anything. Files are written atomically and are
// readable only by their owner: they hold the run's environment.
//
// The spec is the one source of truth. The environment file systemd reads
// (EnvironmentFile=) is rendered from it and named by its content
// (NAME.<hash>.env), so whichever spec is in place names exactly the
// environment it was saved with: a crash or a full disk between the two
// writes leaves the old spec with its old file, never a mix.
package specstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/atomicfile"
	"github.com/runctl/runctl/units"
)

// ErrNotFound: no spec is kept under that name.
var ErrNotFound = errors.New("no such run")

// DamagedError: a spec is kept under the name but cannot be used as it is.
type DamagedError struct {
	Name, Path string
	Err        error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the spec of run %q is damaged (%s: %v): restore the file, or forget the run with runctl rm %s", e.Name, e.Path, e.Err, e.Name)
}

func (e *DamagedError) Unwrap() error { return e.Err }

// Store is a folder of NAME.json specs and their NAME.<hash>.env
// environment files.
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
func (s Store) lockPath(name string) string { return filepath.Join(s.Dir, name+".lock") }

// exitFile is where how the run's last instance ended is recorded
// (units.ExitRecord): a symbolic link whose target is the record.
func (s Store) exitFile(name string) string { return filepath.Join(s.Dir, name+units.ExitSuffix) }

// LastExit reads how the run's last instance ended, as recorded. With
// when, it also reads when (the record's time); ok is false if there is no
// record.
func (s Store) LastExit(name string, when bool) (rec units.ExitRecord, at time.Time, ok bool) {
	path := s.exitFile(name)
	target, err := os.Readlink(path)
	if err != nil {
		return rec, at, false
	}
	if rec, ok = units.ParseExitRecord(target); ok && when {
		if fi, err := os.Lstat(path); err == nil {
			at = fi.ModTime()
		}
	}
	return rec, at, ok
}

// RecordExit records how the run's last instance ended, as its recorder
// does: a new link renamed over the old. A record it cannot write (the
// folder is root's) stays as it was.
func (s Store) RecordExit(name string, rec units.ExitRecord) {
	tmp := s.exitFile(name) + ".new"
	os.Remove(tmp)
	if os.Symlink(rec.Target(), tmp) == nil {
		if os.Rename(tmp, s.exitFile(name)) != nil {
			os.Remove(tmp)
		}
	}
}

// envHashLen is how many hex digits of the content's SHA-256 name an
// environment file.
const envHashLen = 16

// EnvFile is the environment file spec names, and its content in systemd's
// EnvironmentFile= format.
func (s Store) EnvFile(spec *units.Spec) (path string, data []byte, err error) {
	data, err = units.RenderEnvFile(spec.Env)
	if err != nil {
		return "", nil, err
	}
	sum := sha256.Sum256(data)
	return filepath.Join(s.Dir, spec.Name+"."+hex.EncodeToString(sum[:])[:envHashLen]+".env"), data, nil
}

// envFileOf says which run an environment file name belongs to, if any.
func envFileOf(file string) (name string, ok bool) {
	base, ok := strings.CutSuffix(file, ".env")
	if !ok || len(base) < envHashLen+2 || base[len(base)-envHashLen-1] != '.' {
		return "", false
	}
	if _, err := hex.DecodeString(base[len(base)-envHashLen:]); err != nil {
		return "", false
	}
	return base[:len(base)-envHashLen-1], true
}

// Pending is a spec written to temporary files and synced, not yet in
// place: Prepare does the slow part while runctl talks to systemd, Commit
// the quick one once the run may be replaced.
type Pending struct {
	s                Store
	name             string
	specTmp, envTmp  string // envTmp is "" when the file is already in place
	envPath, envData string
}

// Prepare checks spec and writes it and its environment file to
// temporary files in the store, synced in parallel.
func (s Store) Prepare(spec *units.Spec) (*Pending, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	envPath, env, err := s.EnvFile(spec)
	if err != nil {
		return nil, err
	}
	data, err := spec.Encode()
	if err != nil {
		return nil, err
	}
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	p := &Pending{s: s, name: spec.Name, envPath: envPath, envData: string(env)}
	var envErr error
	var wg sync.WaitGroup
	if !s.sameFile(envPath, env) {
		wg.Go(func() { p.envTmp, envErr = atomicfile.Temp(envPath, env, 0o600) })
	}
	p.specTmp, err = atomicfile.Temp(s.specPath(spec.Name), append(data, '\n'), 0o600)
	wg.Wait()
	if err == nil {
		err = envErr
	}
	if err != nil { // one cause is enough: both files share the folder
		p.Abort()
		return nil, err
	}
	return p, nil
}

// Commit puts the prepared files in place, the environment file first, and
// syncs the folder once in the background: durable waits for that sync,
// and the run's spec survives a power loss only once it returned nil.
func (p *Pending) Commit() (durable func() error, err error) {
	if p.envTmp != "" {
		if err := os.Rename(p.envTmp, p.envPath); err != nil {
			p.Abort()
			return nil, fmt.Errorf("%s: %w", p.envPath, errors.Unwrap(err))
		}
		p.envTmp = ""
	}
	if err := os.Rename(p.specTmp, p.s.specPath(p.name)); err != nil {
		p.Abort()
		return nil, fmt.Errorf("%s: %w", p.s.specPath(p.name), errors.Unwrap(err))
	}
	p.specTmp = ""
	synced := make(chan error, 1)
	go func() { synced <- atomicfile.SyncDir(p.s.Dir) }()
	return func() error { return <-synced }, nil
}

// EnvFile is the environment file the spec names, in place once Commit
// returned.
func (p *Pending) EnvFile() string { return p.envPath }

// Abort removes what Prepare wrote.
func (p *Pending) Abort() {
	for _, f := range []string{p.envTmp, p.specTmp} {
		if f != "" {
			os.Remove(f)
		}
	}
}

// Save writes spec and its environment file durably.
func (s Store) Save(spec *units.Spec) error {
	p, err := s.Prepare(spec)
	if err != nil {
		return err
	}
	durable, err := p.Commit()
	if err != nil {
		return err
	}
	return durable()
}

// EnsureEnvFile returns the environment file spec names, writing it if it
// is missing (a store from before content-named files, or a crash between
// the renames of Commit before the folder was synced).
func (s Store) EnsureEnvFile(spec *units.Spec) (string, error) {
	path, data, err := s.EnvFile(spec)
	if err != nil {
		return "", err
	}
	if s.sameFile(path, data) {
		return path, nil
	}
	if err := atomicfile.Write(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// sameFile says whether path is a trusted file holding data.
func (s Store) sameFile(path string, data []byte) bool {
	got, err := readTrusted(path)
	return err == nil && string(got) == string(data)
}

// Collect removes the run's environment files other than the one spec
// names: call it once the run started from spec, so no unit refers to
// them any more.
func (s Store) Collect(spec *units.Spec) {
	keep, _, err := s.EnvFile(spec)
	if err != nil {
		return
	}
	s.removeEnvFiles(spec.Name, keep)
}

func (s Store) removeEnvFiles(name, keep string) error {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		p := filepath.Join(s.Dir, e.Name())
		n, ok := envFileOf(e.Name())
		mine := ok && n == name
		if !mine && e.Name() == name+".env" {
			// NAME.env is how runctl named the file before content-named
			// ones. When NAME is a.<16 hex digits>, that is also run a's
			// current file: it stays while run a is kept.
			mine = !ok || !s.Has(n)
		}
		if mine && p != keep {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// Load reads a run's spec. A spec that does not parse, fails Validate,
// names another run or is not the user's own is a *DamagedError.
func (s Store) Load(name string) (*units.Spec, error) {
	if err := s.trust(); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w %q", ErrNotFound, name)
		}
		return nil, err
	}
	path := s.specPath(name)
	data, err := readTrusted(path)
	var untrusted *untrustedError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%w %q", ErrNotFound, name)
	case errors.As(err, &untrusted):
		return nil, &DamagedError{name, path, err}
	case err != nil:
		return nil, fmt.Errorf("cannot read the spec of %q: %w", name, cause("", err))
	}
	var spec units.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		return nil, &DamagedError{name, path, err}
	}
	if spec.Name != name {
		return nil, &DamagedError{name, path, fmt.Errorf("it names run %q", spec.Name)}
	}
	if err := spec.Validate(); err != nil {
		return nil, &DamagedError{name, path, errors.Unwrap(err)}
	}
	return &spec, nil
}

// Has says whether a spec is kept under name.
func (s Store) Has(name string) bool {
	_, err := os.Lstat(s.specPath(name))
	return err == nil
}

// Names lists the kept runs without reading their specs, sorted. A missing
// folder is an empty store.
func (s Store) Names() ([]string, error) {
	if err := s.trust(); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	f, err := os.Open(s.Dir)
	if err != nil {
		return nil, fmt.Errorf("cannot list runs in %s: %w", s.Dir, cause(s.Dir, err))
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

// Remove forgets a run: its spec, its environment files and, since the
// caller holds it, its lock file (Lock's waiters then lock the new one).
// The spec goes first and the record last: a recorder that writes the
// record late removes it again once it finds the spec gone
// (units.ExitRecorder).
func (s Store) Remove(name string) error {
	err := os.Remove(s.specPath(name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q", ErrNotFound, name)
	}
	if err != nil {
		return fmt.Errorf("cannot forget %q: %w", name, cause("", err))
	}
	if err := s.removeEnvFiles(name, ""); err != nil {
		return fmt.Errorf("cannot forget %q: %w", name, err)
	}
	if err := os.Remove(s.lockPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot forget %q: %w", name, cause("", err))
	}
	if err := os.Remove(s.exitFile(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot forget %q: %w", name, cause("", err))
	}
	if err := atomicfile.SyncDir(s.Dir); err != nil {
		return fmt.Errorf("cannot forget %q: %w", name, err)
	}
	return nil
}

// Lock serializes the runctl commands acting on one run, across processes,
// so that concurrent restarts end with exactly one instance. The kernel
// drops the lock when runctl exits, even by SIGKILL. Remove deletes the
// lock file under the lock; a waiter that then gets the lock on the
// deleted file sees it is no longer the file at that path, and locks anew.
func (s Store) Lock(ctx context.Context, name string) (unlock func(), err error) {
	if err := s.ensureDir(); err != nil {
		return nil, err
	}
	path := s.lockPath(name)
	for {
		f, err := openNoFollow(path, os.O_RDWR|os.O_CREATE)
		if err != nil {
			return nil, fmt.Errorf("cannot lock run %q: %w", name, cause("", err))
		}
		got := make(chan error, 1)
		go func() { got <- unix.Flock(int(f.Fd()), unix.LOCK_EX) }()
		select {
		case err := <-got:
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("cannot lock run %q: %w", name, err)
			}
		case <-ctx.Done():
			// The flock may still be granted later; closing the file drops it.
			go func() { <-got; f.Close() }()
			return nil, ctx.Err()
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) == nil && unix.Lstat(path, &now) == nil && held.Ino == now.Ino && held.Dev == now.Dev {
			return func() { s.unlock(name, f, held) }, nil
		}
		f.Close() // removed (or replaced) while we waited
	}
}

// unlock releases a run's lock. A lock file with no spec beside it (a run
// that was refused, or failed before its spec was kept) is removed first,
// as Remove does: only the holder of the lock removes or replaces its file,
// so the file at the path is still the one held, and a waiter that then
// gets the lock on the removed file locks anew.
func (s Store) unlock(name string, f *os.File, held unix.Stat_t) {
	var now unix.Stat_t
	if !s.Has(name) && unix.Lstat(s.lockPath(name), &now) == nil && now.Ino == held.Ino && now.Dev == held.Dev {
		os.Remove(s.lockPath(name))
	}
	f.Close()
}

// untrustedError: a file or folder another user could have written.
type untrustedError struct{ msg string }

func (e *untrustedError) Error() string { return e.msg }

// ensureDir creates the store folder (0700) if needed, and checks it.
func (s Store) ensureDir() error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("cannot create %s: %w", s.Dir, cause(s.Dir, err))
	}
	return s.trust()
}

// trust refuses a store another user could tamper with: the folder must be
// a real folder (not a symlink) owned by the user (or root) and writable by
// no one else, and so must every folder above it, except those with the
// sticky bit (such as /tmp), where others cannot rename what is not theirs.
// A missing folder gives an fs.ErrNotExist error.
func (s Store) trust() error {
	if _, ok := trusted.Load(s.Dir); ok {
		return nil
	}
	if err := s.check(); err != nil {
		return err
	}
	trusted.Store(s.Dir, true)
	return nil
}

// trusted holds the folders trust accepted, so that listing many runs
// checks each folder once per command.
var trusted sync.Map

func (s Store) check() error {
	fi, err := os.Lstat(s.Dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return fmt.Errorf("cannot use %s for runctl's runs: %w", s.Dir, cause(s.Dir, err))
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return s.refuse(s.Dir, "is a symbolic link", "make it a real folder")
	}
	if !fi.IsDir() {
		return s.refuse(s.Dir, "is not a folder", "remove it")
	}
	if err := s.trustDir(s.Dir, fi, false); err != nil {
		return err
	}
	for d := filepath.Dir(s.Dir); ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("cannot use %s for runctl's runs: %w", s.Dir, cause(s.Dir, err))
		}
		if err := s.trustDir(d, fi, true); err != nil {
			return err
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

func (s Store) trustDir(d string, fi fs.FileInfo, stickyOK bool) error {
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != os.Geteuid() && st.Uid != 0 {
		return s.refuse(d, "is owned by "+UserName(st.Uid), "use a folder of your own")
	}
	if fi.Mode().Perm()&0o022 != 0 && !(stickyOK && fi.Mode()&fs.ModeSticky != 0) {
		return s.refuse(d, fmt.Sprintf("can be written by other users (mode %04o)", fi.Mode().Perm()), "chmod go-w "+d)
	}
	return nil
}

func (s Store) refuse(path, why, fix string) error {
	return &untrustedError{fmt.Sprintf("refusing to use %s for runctl's runs: %s %s, so another user could change what your runs execute; %s", s.Dir, path, why, fix)}
}

// readTrusted reads a store file that must be a regular file (not a
// symlink) of the user's own, writable by no one else; an *untrustedError
// says why not, for a message that names the path.
func readTrusted(path string) ([]byte, error) {
	f, err := openNoFollow(path, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.Mode().IsRegular():
		return nil, &untrustedError{"it is not a regular file"}
	case int(st.Uid) != os.Geteuid():
		return nil, &untrustedError{fmt.Sprintf("it is owned by %s, not by you", UserName(st.Uid))}
	case fi.Mode().Perm()&0o022 != 0:
		return nil, &untrustedError{fmt.Sprintf("other users can write it (mode %04o)", fi.Mode().Perm())}
	}
	return io.ReadAll(f)
}

// openNoFollow opens path, refusing a symbolic link in its last component.
func openNoFollow(path string, flag int) (*os.File, error) {
	f, err := os.OpenFile(path, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, unix.ELOOP) {
		return nil, &untrustedError{"it is a symbolic link"}
	}
	return f, err
}

// UserName names uid for messages: "user NAME", or "uid N" when it has no
// name.
func UserName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return "user " + u.Username
	}
	return "uid " + strconv.Itoa(int(uid))
}

// cause is err without the system call's name, and without its path when
// that is path, which the message around it names already.
func cause(path string, err error) error {
	var pe *fs.PathError
	if !errors.As(err, &pe) {
		return err
	}
	if pe.Path == path {
		return pe.Err
	}
	return fmt.Errorf("%s: %w", pe.Path, pe.Err)
}
