package fleet

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// privateTemp is a fresh folder of the test's, mode 0700, with a short
// path (not t.TempDir's, which holds the test's name): the control folder
// inside must leave room for ssh's socket names.
func privateTemp(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp("", "rc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// The control folder is created 0700 and used only when it is the user's
// own, 0700, and a real folder; anything else is refused with the folder
// named and a fix.
func TestControlDirIsCheckedBeforeUse(t *testing.T) {
	uid := strconv.Itoa(os.Geteuid())
	rt := privateTemp(t)
	t.Setenv("XDG_RUNTIME_DIR", rt)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(privateTemp(t), "cache"))

	d, err := ControlDir()
	if err != nil || !strings.HasPrefix(d, rt+"/") {
		t.Fatalf("ControlDir() = %q, %v; want a folder in %s", d, err, rt)
	}
	want := d
	if fi, err := os.Lstat(d); err != nil || fi.Mode().Perm() != 0o700 || !fi.IsDir() {
		t.Fatalf("the control folder: %v, %v; want a folder of mode 0700", fi.Mode(), err)
	}

	for _, c := range []struct {
		name    string
		prepare func() error
		want    string
	}{
		{"another user's", func() error { return os.Chown(want, 65534, 65534) }, "owned by"},
		{"group and world readable", func() error { return os.Chmod(want, 0o755) }, "mode is 0755"},
		{"a symbolic link", func() error {
			other := privateTemp(t)
			os.Remove(want)
			return os.Symlink(other, want)
		}, "symbolic link"},
		{"a file", func() error { os.Remove(want); return os.WriteFile(want, nil, 0o600) }, "not a folder"},
	} {
		os.RemoveAll(want)
		if err := os.Mkdir(want, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := c.prepare(); err != nil {
			t.Fatal(err)
		}
		d, err := ControlDir()
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s control folder: ControlDir() = %q, %v; want a refusal naming %s and saying %q", c.name, d, err, want, c.want)
		}
	}

	// An XDG_RUNTIME_DIR that is not private is not used: the cache is, in
	// a folder of the user's id.
	os.RemoveAll(filepath.Join(rt, "runctl-ssh"))
	os.Chmod(rt, 0o755)
	d, err = ControlDir()
	if cache := filepath.Join(os.Getenv("XDG_CACHE_HOME"), "runctl", "ssh-"+uid); err != nil || d != cache {
		t.Errorf("with XDG_RUNTIME_DIR of mode 0755: ControlDir() = %q, %v; want %q", d, err, cache)
	}

	// A cache under a folder others can write (no sticky bit) is refused:
	// they could rename the control folder away and put theirs in place.
	open := privateTemp(t)
	os.Chmod(open, 0o777)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(open, "cache"))
	if d, err := ControlDir(); err == nil || !strings.Contains(err.Error(), "other users can write "+open) {
		t.Errorf("cache under a world-writable folder: ControlDir() = %q, %v; want a refusal", d, err)
	}
}

// A folder too long for a socket path (ssh: "ControlPath too long") falls
// back to a short one in $TMPDIR, checked as well.
func TestControlDirTooLongFallsBack(t *testing.T) {
	rt := privateTemp(t)
	long := filepath.Join(rt, strings.Repeat("r", 60))
	if err := os.Mkdir(long, 0o700); err != nil {
		t.Fatal(err)
	}
	tmp := privateTemp(t)
	t.Setenv("XDG_RUNTIME_DIR", long)
	t.Setenv("TMPDIR", tmp)
	want := filepath.Join(tmp, "runctl-ssh-"+strconv.Itoa(os.Geteuid()))
	d, err := ControlDir()
	if err != nil || d != want {
		t.Fatalf("with a long XDG_RUNTIME_DIR: ControlDir() = %q, %v; want %q", d, err, want)
	}
	if len(filepath.Join(d, strings.Repeat("0", socketNameLen)))+17 > 107 {
		t.Errorf("%s leaves no room for ssh's socket names", d)
	}
	os.Chmod(want, 0o711)
	if d, err := ControlDir(); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("fallback folder of mode 0711: ControlDir() = %q, %v; want a refusal", d, err)
	}
}

// The control socket's name changes with anything that changes where ssh
// connects: the ssh command, its configuration for the destination, the
// destination and port; and ssh_config's own sharing is left alone.
func TestControlNameFollowsTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	cfg := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a := cfg("a", "Host robot-1\n  HostName 10.77.0.11\n")
	a2 := cfg("a2", "Host robot-1\n  HostName 10.77.0.11\n")
	b := cfg("b", "Host robot-1\n  HostName 10.77.0.12\n")
	shared := cfg("shared", "Host robot-1\n  ControlMaster auto\n  ControlPath /tmp/x\n")
	name := func(ssh []string, tg Target) (string, bool) {
		o := Options{SSH: ssh, ControlDir: dir}
		return o.controlName(context.Background(), tg)
	}
	r1 := Target{Name: "robot-1", Dest: "robot-1"}
	na, ok := name([]string{"ssh", "-F", a}, r1)
	if !ok {
		t.Fatal("ssh -G failed")
	}
	again, _ := name([]string{"ssh", "-F", a}, r1)
	if again != na || len(na) != socketNameLen {
		t.Errorf("same command and config: %q then %q", na, again)
	}
	for what, other := range map[string]func() (string, bool){
		"another config file, same content": func() (string, bool) { return name([]string{"ssh", "-F", a2}, r1) },
		"HostName changed":                  func() (string, bool) { return name([]string{"ssh", "-F", b}, r1) },
		"another port": func() (string, bool) {
			return name([]string{"ssh", "-F", a}, Target{Name: "robot-1", Dest: "robot-1", Port: 2222})
		},
		"another user": func() (string, bool) { return name([]string{"ssh", "-F", a}, Target{Name: "x", Dest: "ops@robot-1"}) },
	} {
		if n, ok := other(); !ok || n == na {
			t.Errorf("%s: the same socket name %q (ok %v)", what, n, ok)
		}
	}
	if n, ok := name([]string{"ssh", "-F", shared}, r1); ok {
		t.Errorf("ssh_config sets ControlMaster: runctl still names a socket %q", n)
	}
}
