package sandbox

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Suites are the Debian releases a sandbox can boot besides the host's
// systemd, with the systemd version each ships (README, "systemd versions").
// sid is the newest, whatever that is on the day its root is built.
var Suites = map[string]string{
	"bullseye": "247",
	"bookworm": "252",
	"trixie":   "257",
	"sid":      "newest",
}

// unifiedOnly are the suites whose systemd (258 and newer) no longer boots
// with cgroup v1 hierarchies: their sandbox has the cgroup2 hierarchy
// (without controllers, which the host's v1 hierarchies hold) at
// /sys/fs/cgroup.
var unifiedOnly = map[string]bool{"sid": true}

// Mirror is the Debian archive roots are built from.
const Mirror = "http://deb.debian.org/debian"

// rootPackages are installed on top of debootstrap's minbase.
var rootPackages = []string{"systemd", "systemd-sysv", "dbus", "procps", "util-linux", "iproute2", "dbus-user-session", "libpam-systemd"}

// rootMasks are masked in a root besides NeverStart: timers that would run
// apt, e2scrub, fstrim or dpkg's backup in the middle of a test.
var rootMasks = []string{"apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "fstrim.timer", "dpkg-db-backup.timer"}

// rootMachineID is every root's /etc/machine-id: a fixed one, so that the
// first boot does not run preset-all, and reboots keep their journal.
const rootMachineID = "72756e63746c2d74657374726f6f7431"

// rootRecipe is everything a root is made of; its hash names the root's
// folder, so that a change here builds a new root on next use.
func rootRecipe(suite string) string {
	return strings.Join([]string{
		"recipe 1",
		"debootstrap --variant=minbase --include=" + strings.Join(rootPackages, ",") + " " + suite + " ROOT " + Mirror,
		"machine-id " + rootMachineID,
		"hostname runctl-" + suite,
		"mask " + strings.Join(append(append([]string(nil), NeverStart...), rootMasks...), " "),
	}, "\n")
}

// RootCache is where built roots are kept: $RUNCTL_TEST_ROOTS, or
// /var/cache/runctl-test-roots. Outside any clone: a root is about 220 MB.
func RootCache() string {
	if d := os.Getenv("RUNCTL_TEST_ROOTS"); d != "" {
		return d
	}
	return "/var/cache/runctl-test-roots"
}

// RootDir is the folder a suite's root is (or would be) built in:
// RootCache()/SUITE-HASH, HASH naming its recipe.
func RootDir(suite string) string {
	sum := sha256.Sum256([]byte(rootRecipe(suite)))
	return filepath.Join(RootCache(), suite+"-"+hex.EncodeToString(sum[:6]))
}

// EnsureRoot returns the root filesystem of a Debian suite, built with
// debootstrap on first use (about 75 s and 220 MB). Builds are serialized by
// a lock in the cache, so parallel test packages build a root once; a
// build that did not finish leaves nothing that is taken for a root.
// Roots of the same suite built from an older recipe are removed.
func EnsureRoot(suite string) (string, error) {
	if _, ok := Suites[suite]; !ok {
		return "", fmt.Errorf("cannot build a root for %q: not one of the suites the sandbox knows (%s)", suite, strings.Join(suiteNames(), ", "))
	}
	dir := RootDir(suite)
	done := filepath.Join(dir, ".runctl-root")
	if _, err := os.Stat(done); err == nil {
		return dir, nil
	}
	if err := os.MkdirAll(RootCache(), 0o755); err != nil {
		return "", fmt.Errorf("cannot build the %s root: %w", suite, err)
	}
	lock, err := os.OpenFile(filepath.Join(RootCache(), suite+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", fmt.Errorf("cannot build the %s root: %w", suite, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("cannot build the %s root: cannot lock: %w", suite, err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(done); err == nil {
		return dir, nil // built while we waited for the lock
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return "", fmt.Errorf("cannot build the %s root: debootstrap is not installed; run packaging/build-deps.sh test", suite)
	}
	// Leftovers: a build that was killed, and roots of older recipes.
	old, _ := filepath.Glob(filepath.Join(RootCache(), suite+"-*"))
	for _, o := range old {
		if err := os.RemoveAll(o); err != nil {
			return "", fmt.Errorf("cannot remove the old root %s: %w", o, err)
		}
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "sandbox: building the %s root in %s (debootstrap, about a minute)\n", suite, dir)
	tmp := dir + ".building"
	args := []string{"--variant=minbase", "--include=" + strings.Join(rootPackages, ","), suite, tmp, Mirror}
	if out, err := exec.Command("debootstrap", args...).CombinedOutput(); err != nil {
		os.RemoveAll(tmp)
		tail := string(out)
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return "", fmt.Errorf("cannot build the %s root: debootstrap: %w\n%s", suite, err, tail)
	}
	if err := finishRoot(tmp, suite); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("cannot build the %s root: %w", suite, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".runctl-root"), []byte(rootRecipe(suite)+"\n"), 0o644); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("cannot build the %s root: %w", suite, err)
	}
	fmt.Fprintf(os.Stderr, "sandbox: built the %s root in %.0fs\n", suite, time.Since(start).Seconds())
	return dir, nil
}

// finishRoot applies the rest of the recipe to a fresh debootstrap.
func finishRoot(root, suite string) error {
	if err := os.WriteFile(filepath.Join(root, "etc/machine-id"), []byte(rootMachineID+"\n"), 0o444); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "etc/hostname"), []byte("runctl-"+suite+"\n"), 0o644); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "lib/systemd/systemd")); err != nil {
		return errors.New("the root has no /lib/systemd/systemd")
	}
	for _, u := range append(append([]string(nil), NeverStart...), rootMasks...) {
		p := filepath.Join(root, "etc/systemd/system", u)
		os.Remove(p)
		if err := os.Symlink("/dev/null", p); err != nil {
			return err
		}
	}
	return nil
}

func suiteNames() []string {
	var n []string
	for _, s := range []string{"bullseye", "bookworm", "trixie", "sid"} {
		if _, ok := Suites[s]; ok {
			n = append(n, s)
		}
	}
	return n
}
