package specstore

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/runctl/runctl/units"
)

func testSpec(name string) *units.Spec {
	return &units.Spec{
		Version: units.SpecVersion, Name: name,
		Argv: []string{"bot", "--x", "$HOME", ""}, Path: "/usr/bin/bot", Dir: "/",
		Env:         []string{"A=1", "SECRET=p\"a$s\nw"},
		StopTimeout: units.Duration(10 * time.Second),
		Created:     time.Unix(1700000000, 0).UTC(),
	}
}

func TestSaveLoadListRemove(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/runs"}
	if names, err := s.Names(); err != nil || len(names) != 0 {
		t.Fatalf("empty store: %v, %v", names, err)
	}
	want := testSpec("nav")
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load("nav")
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load = %+v, %v; want %+v", got, err, want)
	}
	envFile, _, err := s.EnvFile(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{s.Dir, s.specPath("nav"), envFile} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %v; others must not read it", p, fi.Mode().Perm())
		}
	}
	env, _ := os.ReadFile(envFile)
	if rendered, _ := units.RenderEnvFile(want.Env); !bytes.Equal(env, rendered) {
		t.Fatalf("env file holds\n%s\nwant\n%s", env, rendered)
	}
	if err := s.Save(testSpec("arm")); err != nil {
		t.Fatal(err)
	}
	if names, err := s.Names(); err != nil || !reflect.DeepEqual(names, []string{"arm", "nav"}) {
		t.Fatalf("Names = %v, %v; want arm, nav", names, err)
	}
	if err := s.Remove("nav"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load("nav"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Load after Remove: %v, want ErrNotFound", err)
	}
	if _, err := os.Stat(envFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("env file left after Remove: %v", err)
	}
	ents, _ := os.ReadDir(s.Dir)
	if len(ents) != 2 {
		t.Fatalf("store holds %d files, want arm's 2 (no temp files or lock left)", len(ents))
	}
}

// Until Commit, the kept spec and environment stay the old ones; Abort
// leaves nothing behind.
func TestPrepareCommitAbort(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/runs"}
	old := testSpec("nav")
	if err := s.Save(old); err != nil {
		t.Fatal(err)
	}
	oldEnv, _, _ := s.EnvFile(old)
	next := testSpec("nav")
	next.Argv, next.Env = []string{"bot", "--new"}, []string{"A=2"}
	p, err := s.Prepare(next)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Load("nav"); err != nil || !reflect.DeepEqual(got, old) {
		t.Fatalf("before Commit Load = %+v, %v; want the old spec", got, err)
	}
	p.Abort()
	if ents, _ := os.ReadDir(s.Dir); len(ents) != 2 {
		t.Fatalf("after Abort the store holds %d files, want the old spec and env file", len(ents))
	}
	p, err = s.Prepare(next)
	if err != nil {
		t.Fatal(err)
	}
	durable, err := p.Commit()
	if err != nil || durable() != nil {
		t.Fatal(err)
	}
	newEnv, _, _ := s.EnvFile(next)
	if got, err := s.Load("nav"); err != nil || !reflect.DeepEqual(got, next) || newEnv == oldEnv {
		t.Fatalf("after Commit Load = %+v, %v", got, err)
	}
	// The old environment file stays until Collect: a unit may name it.
	if _, err := os.Stat(oldEnv); err != nil {
		t.Fatalf("old env file gone before Collect: %v", err)
	}
	s.Collect(next)
	if _, err := os.Stat(oldEnv); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("old env file kept after Collect: %v", err)
	}
	if _, err := os.Stat(newEnv); err != nil {
		t.Fatalf("Collect removed the current env file: %v", err)
	}
}

// A spec that names another run, lacks a version or does not parse is
// damaged, by name and path.
func TestLoadRefusesDamagedSpecs(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	os.Chmod(s.Dir, 0o700)
	for name, body := range map[string]string{
		"mm":  `{"version":1,"name":"victim","argv":["x"],"path":"/bin/x","dir":"/","env":[],"stop_timeout":"10s"}`,
		"old": `{"name":"old","argv":["x"],"path":"/bin/x","dir":"/","env":[],"stop_timeout":"10s"}`,
		"bad": `{"version":1,`,
	} {
		if err := os.WriteFile(s.specPath(name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := s.Load(name)
		var damaged *DamagedError
		if !errors.As(err, &damaged) || damaged.Path != s.specPath(name) {
			t.Errorf("Load(%s) = %v, want a DamagedError for %s", name, err, s.specPath(name))
		}
	}
}

// Remove deletes the lock file under the lock; a command that was waiting
// on it does not then hold a lock alongside a newcomer on the new file.
func TestLockRemovedUnderWaiters(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/runs"}
	if err := s.Save(testSpec("nav")); err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(t.Context(), "nav")
	if err != nil {
		t.Fatal(err)
	}
	var holders atomic.Int32
	var overlap atomic.Bool
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			u, err := s.Lock(t.Context(), "nav")
			if err != nil {
				t.Error(err)
				return
			}
			if holders.Add(1) > 1 {
				overlap.Store(true)
			}
			time.Sleep(5 * time.Millisecond)
			holders.Add(-1)
			u()
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them wait on the old file
	if err := s.Remove("nav"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.lockPath("nav")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("lock file kept after Remove: %v", err)
	}
	unlock()
	for range 4 {
		<-done
	}
	if overlap.Load() {
		t.Fatal("two commands held the run's lock at once")
	}
}

// A symlinked or group-writable store folder, and a spec that is a
// symlink, are refused.
func TestUntrustedStoreRefused(t *testing.T) {
	base := t.TempDir()
	os.Chmod(base, 0o700)
	real := base + "/real"
	os.Mkdir(real, 0o700)
	os.Symlink(real, base+"/link")
	if _, err := (Store{Dir: base + "/link"}).Names(); err == nil || !strings.Contains(err.Error(), "is a symbolic link") {
		t.Errorf("symlinked store: %v", err)
	}
	os.Mkdir(base+"/open", 0o700)
	os.Chmod(base+"/open", 0o777)
	if err := (Store{Dir: base + "/open"}).Save(testSpec("nav")); err == nil || !strings.Contains(err.Error(), "can be written by other users") {
		t.Errorf("world-writable store: %v", err)
	}
	s := Store{Dir: real}
	os.WriteFile(base+"/elsewhere.json", []byte("{}"), 0o600)
	os.Symlink(base+"/elsewhere.json", s.specPath("nav"))
	if _, err := s.Load("nav"); err == nil || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("symlinked spec: %v", err)
	}
}

// Run a.<hash of a's environment> is another run: forgetting it, or
// collecting its old environment files, leaves run a's environment file
// alone (it was taken for a.<hash>'s file of the old NAME.env naming). A
// NAME.env of that old naming is still removed with its run.
func TestRemoveKeepsAnotherRunsEnvFile(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/runs"}
	a := testSpec("a")
	if err := s.Save(a); err != nil {
		t.Fatal(err)
	}
	aEnv, _, err := s.EnvFile(a)
	if err != nil {
		t.Fatal(err)
	}
	other := testSpec(strings.TrimSuffix(strings.TrimPrefix(aEnv, s.Dir+"/"), ".env"))
	other.Env = []string{"B=2"}
	if err := s.Save(other); err != nil {
		t.Fatal(err)
	}
	s.Collect(other)
	if err := s.Remove(other.Name); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(aEnv); err != nil {
		t.Fatalf("forgetting run %s removed run a's environment file: %v", other.Name, err)
	}
	if _, err := s.Load("a"); err != nil {
		t.Fatal(err)
	}

	old := s.Dir + "/nav.env"
	if err := s.Save(testSpec("nav")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(old, []byte("A=1\n"), 0o600)
	if err := s.Remove("nav"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err == nil {
		t.Errorf("%s of the old naming is left after rm", old)
	}
}

// A lock taken for a name with no spec kept (a run that was refused) leaves
// no lock file; one of a kept run stays. Commands locking such a name at
// once still hold the lock one at a time, though each removes the file.
func TestUnlockLeavesNoLockOfAnUnkeptRun(t *testing.T) {
	s := Store{Dir: t.TempDir() + "/runs"}
	unlock, err := s.Lock(t.Context(), "refused")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Lstat(s.lockPath("refused")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("refused.lock is left behind: %v", err)
	}
	if err := s.Save(testSpec("nav")); err != nil {
		t.Fatal(err)
	}
	unlock, err = s.Lock(t.Context(), "nav")
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if _, err := os.Lstat(s.lockPath("nav")); err != nil {
		t.Errorf("the lock file of a kept run was removed: %v", err)
	}

	var holders atomic.Int32
	var overlap atomic.Bool
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				u, err := s.Lock(t.Context(), "busy")
				if err != nil {
					t.Error(err)
					return
				}
				if holders.Add(1) > 1 {
					overlap.Store(true)
				}
				time.Sleep(50 * time.Microsecond)
				holders.Add(-1)
				u()
			}
		}()
	}
	for range 8 {
		<-done
	}
	if overlap.Load() {
		t.Fatal("two commands held the lock of a name with no spec at once")
	}
	if _, err := os.Lstat(s.lockPath("busy")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("busy.lock is left behind: %v", err)
	}
}

// A store that cannot be written says so once, naming the file and the
// system's reason, not the system call or a temporary file.
func TestWriteErrorsSayItOnce(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/file"
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s := Store{Dir: file + "/runs"}
	_, err := s.Lock(t.Context(), "a")
	if want := "cannot create " + s.Dir + ": " + file + ": not a directory"; err == nil || err.Error() != want {
		t.Errorf("Lock in a folder under a file: %v, want %q", err, want)
	}

	s = Store{Dir: dir + "/store"}
	if err := s.Save(testSpec("a")); err != nil {
		t.Fatal(err)
	}
	// The spec's path a folder: the rename over it fails.
	if err := os.Mkdir(s.specPath("b"), 0o700); err != nil {
		t.Fatal(err)
	}
	err = s.Save(testSpec("b"))
	if want := s.specPath("b") + ": file exists"; err == nil || err.Error() != want {
		t.Errorf("Save over a folder: %v, want %q", err, want)
	}
}
