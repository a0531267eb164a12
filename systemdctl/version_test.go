package systemdctl

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runctl/runctl/sandbox"
)

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]int{"252.38-1~deb12u1": 252, "247.3-7+deb11u4": 247, "257": 257, "257.9-1~deb13u1.so": 257, "": 0, "v252": 0} {
		if got := parseVersion(in); got != want {
			t.Errorf("parseVersion(%q) = %d, want %d", in, got, want)
		}
	}
	maps := filepath.Join(t.TempDir(), "maps")
	os.WriteFile(maps, []byte("7f71-7f72 r-xp 00000000 fe:00 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n7f73-7f74 r-xp 00000000 fe:00 2 /lib/systemd/libsystemd-shared-247.so\n"), 0o644)
	if v := mappedVersion(maps); v != 247 {
		t.Errorf("mappedVersion = %d, want 247", v)
	}
	if v := mappedVersion(filepath.Join(t.TempDir(), "none")); v != 0 {
		t.Errorf("mappedVersion of no file = %d", v)
	}
}

// hostVersion is the version `systemctl --version` prints.
func hostVersion(t *testing.T) int {
	t.Helper()
	out, err := exec.Command("systemctl", "--version").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || parseVersion(f[1]) == 0 {
		t.Fatalf("systemctl --version: %q", out)
	}
	return parseVersion(f[1])
}

// The version read through the bus (the Version property) and, inside,
// from PID 1's maps over the private socket, before and after a
// daemon-reexec (which drops the connection: it is read again).
func TestVersion(t *testing.T) {
	want := hostVersion(t)
	m := connect(t)
	if v, err := m.Version(t.Context()); err != nil || v != want {
		t.Fatalf("Version over the bus = %d, %v; want %d", v, err, want)
	}
	if !sandbox.RunInside(t, sb, "RUNCTL_TEST_VERSION_INSIDE") {
		return
	}
	p := connectPrivate(t)
	if v, err := p.Version(t.Context()); err != nil || v != want {
		t.Fatalf("Version over the private socket = %d, %v; want %d", v, err, want)
	}
	if v := mappedVersion("/proc/1/maps"); v != want {
		t.Fatalf("PID 1 maps libsystemd-shared-%d, want %d", v, want)
	}
	gen := p.versionGen
	dropByReexec(t, p)
	if v, err := p.Version(t.Context()); err != nil || v != want || p.versionGen == gen {
		t.Fatalf("Version after a daemon-reexec = %d, %v (read on connection %d, before %d); want %d read again", v, err, p.versionGen, gen, want)
	}
}
