package packaging

// The Debian package, installed for real: dpkg -i in the systemd sandbox
// (whose root is an overlay of the host, so dpkg writes only there), runctl
// used as installed, its completions and operator service at work, then purged.
// And `make install` for hosts without dpkg.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

const root = ".."

var (
	sb *sandbox.Sandbox
	// deb is the package of this machine's architecture, where the sandbox
	// sees it.
	deb string
	// debs are the packages `make deb` builds, by Debian architecture
	// (arch_test.go); nil when the systemd tests are skipped.
	debs map[string]string
)

// debArches are the architectures `make deb` builds (the Makefile's ARCH).
var debArches = []string{"amd64", "arm64"}

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Getenv(sandbox.SkipEnv) == "1" {
			return sandbox.RunTests(m, &sb, sandbox.Options{})
		}
		built, err := packageFiles()
		if err != nil {
			fmt.Fprintf(os.Stderr, "cannot build the .debs the packaging tests need: %v\n", err)
			return 1
		}
		debs = built
		// Copied before the sandbox boots, where it sees it: not under /tmp.
		dir, err := os.MkdirTemp(mkdirAll(sandbox.StateRoot()), "deb-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		host := built[hostArch]
		deb = filepath.Join(dir, filepath.Base(host))
		if err := copyFile(host, deb); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return sandbox.RunTests(m, &sb, sandbox.Options{})
	}())
}

func mkdirAll(d string) string { os.MkdirAll(d, 0o755); return d }

// hostArch is this machine's Debian architecture.
var hostArch = func() string {
	out, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return runtime.GOARCH
	}
	return strings.TrimSpace(string(out))
}()

// packageFiles are dist/runctl_VERSION_ARCH.deb for this machine's
// architecture and debArches, built by `make deb` unless they are there
// and newer than everything they are built from; $RUNCTL_DEB replaces this
// machine's. The build skips the tests of debian/rules (nocheck): they are
// cmd/runctl-gendocs', which the suite runs itself; and compresses with
// xz -1 rather than -6 (4 times faster, 10% larger).
func packageFiles() (map[string]string, error) {
	version, err := changelogVersion()
	if err != nil {
		return nil, err
	}
	arches := debArches
	if !slices.Contains(arches, hostArch) {
		arches = append([]string{hostArch}, arches...)
	}
	newest := newestSource()
	paths := map[string]string{}
	var stale []string
	for _, a := range arches {
		p, err := filepath.Abs(filepath.Join(root, "dist", fmt.Sprintf("runctl_%s_%s.deb", version, a)))
		if err != nil {
			return nil, err
		}
		if env := os.Getenv("RUNCTL_DEB"); env != "" && a == hostArch {
			if _, err := os.Stat(env); err != nil {
				return nil, fmt.Errorf("RUNCTL_DEB: %w", err)
			}
			p = env
		} else if fi, err := os.Stat(p); err != nil || fi.ModTime().Before(newest) {
			stale = append(stale, a)
		}
		paths[a] = p
	}
	if len(stale) == 0 {
		return paths, nil
	}
	fmt.Fprintf(os.Stderr, "packaging tests: building the .debs for %s with make deb\n", strings.Join(stale, " "))
	cmd := exec.Command("make", "-C", root, "deb", "ARCH="+strings.Join(stale, " "))
	cmd.Env = append(os.Environ(), "DEB_BUILD_OPTIONS=nocheck "+os.Getenv("DEB_BUILD_OPTIONS"), "DPKG_DEB_COMPRESSOR_LEVEL=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("make deb: %v\n%s", err, out.String())
	}
	fmt.Fprintf(os.Stderr, "packaging tests: make deb took %v\n", time.Since(start).Round(time.Second))
	for _, a := range stale {
		if _, err := os.Stat(paths[a]); err != nil {
			return nil, fmt.Errorf("make deb did not write %s\n%s", paths[a], out.String())
		}
	}
	return paths, nil
}

// changelogVersion is the version of debian/changelog's first entry.
func changelogVersion() (string, error) {
	b, err := os.ReadFile(filepath.Join(root, "debian", "changelog"))
	if err != nil {
		return "", err
	}
	m := regexp.MustCompile(`^runctl \(([^)]+)\)`).FindSubmatch(b)
	if m == nil {
		return "", fmt.Errorf("debian/changelog does not start with \"runctl (VERSION)\"")
	}
	return string(m[1]), nil
}

// newestSource is when anything the package is built from last changed.
func newestSource() time.Time {
	var newest time.Time
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return filepath.SkipDir
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			switch rel {
			case ".git", "dist", "bin", ".sandbox", "debian/.gocache", "debian/build", "debian/runctl":
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, "_test.go") {
			return nil // not in the package
		}
		if strings.HasSuffix(p, ".go") || strings.HasPrefix(rel, "debian/") || strings.HasPrefix(rel, "packaging/") ||
			slices.Contains([]string{"go.mod", "go.sum", "README.md", "Makefile"}, rel) {
			if fi, err := d.Info(); err == nil && fi.ModTime().After(newest) {
				newest = fi.ModTime()
			}
		}
		return nil
	})
	return newest
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// inside runs a command in the sandbox as root and returns its output; it
// must succeed.
func inside(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := insideErr(t, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func insideErr(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := sb.Command(ctx, name, args...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND=noninteractive", "LANG=C.UTF-8", "HOME=/root"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// as runs a command in the sandbox as user, with their groups.
func as(t *testing.T, user string, args ...string) (string, error) {
	t.Helper()
	return insideErr(t, "setpriv", append([]string{"--reuid=" + user, "--regid=" + user, "--init-groups", "--"}, args...)...)
}

func TestPackageInstallsWorksAndPurges(t *testing.T) {
	sandbox.Need(t, sb)
	version, err := changelogVersion()
	if err != nil {
		t.Fatal(err)
	}

	// A container image's policy-rc.d forbids maintainer scripts to start
	// services (exit 101); a real host has none, and the package starts
	// its socket there. Removed in the sandbox's overlay only.
	inside(t, "rm", "-f", "/usr/sbin/policy-rc.d")
	// man-db's trigger would rebuild the whole manual index (tens of CPU
	// seconds); whether the page is installed is checked by dpkg -L.
	inside(t, "rm", "-f", "/var/lib/man-db/auto-update")
	inside(t, "dpkg", "-i", deb)
	files := strings.Fields(inside(t, "dpkg", "-L", "runctl"))
	for _, want := range []string{
		"/usr/bin/runctl",
		"/usr/share/man/man1/runctl.1.gz",
		"/usr/share/bash-completion/completions/runctl",
		"/usr/share/zsh/vendor-completions/_runctl",
		"/usr/share/fish/vendor_completions.d/runctl.fish",
		"/lib/systemd/system/runctl.operator.socket",
		"/lib/systemd/system/runctl.operator@.service",
		"/usr/lib/sysusers.d/runctl.conf",
		"/usr/share/doc/runctl/README.md.gz",
		"/usr/share/doc/runctl/changelog.gz",
		"/usr/share/doc/runctl/copyright",
	} {
		if !slices.Contains(files, want) {
			t.Errorf("dpkg -L runctl lacks %s:\n%s", want, strings.Join(files, "\n"))
		}
	}
	if out := inside(t, "getent", "group", "runctl"); !strings.HasPrefix(out, "runctl:") {
		t.Errorf("postinst did not create the runctl group: getent says %q", out)
	}
	if out := inside(t, "runctl", "--version"); strings.TrimSpace(out) != "runctl "+version {
		t.Errorf("runctl --version = %q, want the package's version %q", out, "runctl "+version)
	}

	inside(t, "runctl", "run", "-d", "-n", "demo", "--", "sleep", "1000")
	t.Cleanup(func() {
		sb.Command(context.Background(), "systemctl", "kill", "--signal=KILL", "runctl-demo.service", "runctl-pk.service", "pkother.service").Run()
	})
	inside(t, "runctl", "restart", "demo")

	t.Run("bash completion", func(t *testing.T) {
		out := inside(t, "bash", "--norc", "--noprofile", "-c", `source /usr/share/bash-completion/completions/runctl || exit 1
spec=$(complete -p runctl) || exit 1
fn=${spec#*-F }
fn=${fn%% *}
COMP_WORDS=(runctl restart "")
COMP_CWORD=2
COMP_LINE="runctl restart "
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
"$fn" runctl "" restart
printf '%s\n' "${COMPREPLY[@]}"`)
		if !slices.Contains(strings.Fields(out), "demo") {
			t.Errorf("bash completes \"runctl restart \" to %q, want demo among them", out)
		}
	})
	t.Run("zsh and fish find their completions", func(t *testing.T) {
		if out := inside(t, "zsh", "-f", "-c", `autoload -U compinit && compinit -u -D && print -r -- $_comps[runctl]`); strings.TrimSpace(out) != "_runctl" {
			t.Errorf("zsh's compinit maps runctl to %q, want _runctl (is _runctl on the default fpath?)", out)
		}
		// Without --no-config: fish_complete_path comes from its system config.
		out := inside(t, "fish", "-c", `complete -C "runctl restart "`)
		if !slices.Contains(strings.Fields(out), "demo") {
			t.Errorf("fish completes \"runctl restart \" to %q, want demo among them", out)
		}
	})
	t.Run("operator service", func(t *testing.T) { testOperatorService(t) })
	t.Run("ansible finds the runctl.runctl collection", func(t *testing.T) {
		// Where Ansible looks by default: no ANSIBLE_COLLECTIONS_PATH.
		out := inside(t, "ansible-doc", "-t", "module", "runctl.runctl.run", "runctl.runctl.stack", "runctl.runctl.info")
		if !strings.Contains(out, "/usr/share/ansible/collections/ansible_collections/runctl/runctl/plugins/modules/stack.py") {
			t.Errorf("ansible-doc does not find the installed runctl.runctl modules:\n%s", out)
		}
	})

	inside(t, "runctl", "stop", "demo")

	inside(t, "dpkg", "--purge", "runctl")
	for _, f := range files {
		if f == "/." {
			continue
		}
		if _, err := insideErr(t, "test", "-e", f); err != nil {
			continue // gone
		}
		if _, err := insideErr(t, "test", "-d", f); err == nil {
			if _, err := insideErr(t, "dpkg", "-S", f); err == nil {
				continue // a folder other packages still use
			}
		}
		t.Errorf("%s is still there after dpkg --purge runctl", f)
	}
	if _, err := insideErr(t, "test", "-e", "/var/lib/runctl"); err == nil {
		t.Errorf("/var/lib/runctl (the runs runctl kept) is still there after the purge")
	}
	if _, err := insideErr(t, "test", "-e", "/run/runctl.operator.sock"); err == nil {
		t.Errorf("the operator socket is still there after the purge: members' runctl would try it")
	}

	// With a run enabled at boot, its unit file reads its environment from
	// /var/lib/runctl: a purge keeps it.
	inside(t, "dpkg", "-i", deb)
	inside(t, "install", "-D", "-m0600", "/dev/null", "/var/lib/runctl/runs/kept.env")
	inside(t, "sh", "-c", "printf '[Service]\\nExecStart=/bin/true\\nEnvironmentFile=/var/lib/runctl/runs/kept.env\\n' > /etc/systemd/system/runctl-kept.service")
	if out := inside(t, "dpkg", "--purge", "runctl"); !strings.Contains(out, "keeping /var/lib/runctl") {
		t.Errorf("dpkg --purge with an enabled run did not say it keeps /var/lib/runctl:\n%s", out)
	}
	if _, err := insideErr(t, "test", "-f", "/var/lib/runctl/runs/kept.env"); err != nil {
		t.Errorf("the purge removed /var/lib/runctl although runctl-kept.service needs it")
	}
	inside(t, "rm", "-r", "/etc/systemd/system/runctl-kept.service", "/var/lib/runctl")
}

// testOperatorService checks, as installed, that a member of the runctl
// group stops, starts and restarts runs with runctl through the operator
// service, that a non-member is refused, and that members get nothing on
// the units over D-Bus (polkitd deciding): no stop with a job mode that
// cancels other jobs, no signal, no other unit, no transient unit.
func testOperatorService(t *testing.T) {
	if _, err := os.Stat("/usr/lib/polkit-1/polkitd"); err != nil {
		t.Fatalf("polkitd is needed to check what members may do over D-Bus: apt-get install polkitd (packaging/build-deps.sh test installs it)")
	}
	inside(t, "systemctl", "start", "polkit.service")
	if out := inside(t, "systemctl", "is-active", "runctl.operator.socket"); strings.TrimSpace(out) != "active" {
		t.Fatalf("postinst did not start runctl.operator.socket: %s", out)
	}
	inside(t, "useradd", "--create-home", "--groups", "runctl", "op")
	inside(t, "useradd", "--create-home", "other")
	inside(t, "runctl", "run", "-d", "-n", "pk", "--", "sleep", "1000")
	inside(t, "systemd-run", "--unit=pkother.service", "sleep", "1000")
	const unit = "runctl-pk.service"

	allowed := func(user string, args ...string) {
		t.Helper()
		if out, err := as(t, user, append([]string{"runctl", "--system"}, args...)...); err != nil {
			t.Errorf("%s: runctl %s was refused: %v\n%s", user, strings.Join(args, " "), err, out)
		}
	}
	// denied: refused with why in the message, or one of why's
	// alternatives (a|b).
	denied := func(user, why string, args ...string) {
		t.Helper()
		out, err := as(t, user, args...)
		switch {
		case err == nil:
			t.Errorf("%s: %s was allowed\n%s", user, strings.Join(args, " "), out)
		case !slices.ContainsFunc(strings.Split(why, "|"), func(w string) bool { return strings.Contains(out, w) }):
			t.Errorf("%s: %s failed, but not with %q: %v\n%s", user, strings.Join(args, " "), why, err, out)
		default:
			t.Logf("%s: %s refused: %s", user, strings.Join(args, " "), strings.TrimSpace(out))
		}
	}
	state := func() string {
		t.Helper()
		return strings.TrimSpace(inside(t, "systemctl", "show", "-P", "ActiveState", unit))
	}
	busctl := func(call ...string) []string {
		return append([]string{"busctl", "--allow-interactive-authorization=no", "call", "org.freedesktop.systemd1",
			"/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager"}, call...)
	}

	allowed("op", "restart", "pk")
	allowed("op", "stop", "pk")
	if s := state(); s != "inactive" {
		t.Errorf("after a member's stop, %s is %s", unit, s)
	}
	allowed("op", "start", "pk")
	denied("other", "permission denied", "runctl", "--system", "stop", "pk")
	denied("op", "needs root", "runctl", "--system", "stop", "--force", "pk")
	const auth = "Access denied|Interactive authentication required"
	denied("op", auth, busctl("StopUnit", "ss", unit, "flush")...)
	denied("op", auth, busctl("StopUnit", "ss", unit, "replace-irreversibly")...)
	denied("op", auth, busctl("KillUnit", "ssi", unit, "all", "19")...)
	denied("op", auth, "systemctl", "--no-ask-password", "stop", "pkother.service")
	denied("op", "", "systemd-run", "--no-ask-password", "--unit=runctl-evil.service", "/bin/true")
	if s := state(); s != "active" {
		t.Errorf("after the refused calls, %s is %s, want active", unit, s)
	}
	inside(t, "runctl", "stop", "pk")
	inside(t, "systemctl", "stop", "pkother.service")
}

// make install, for hosts without dpkg: binary, gzipped man page,
// completions and the operator service's units under PREFIX; make
// uninstall takes them away.
func TestMakeInstallStaged(t *testing.T) {
	dest := t.TempDir()
	run := func(target string) {
		t.Helper()
		out, err := exec.Command("make", "-C", root, target, "PREFIX=/usr/local", "DESTDIR="+dest).CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", target, err, out)
		}
	}
	run("install")
	want := map[string]string{
		"/usr/local/bin/runctl":                                  "",
		"/usr/local/share/man/man1/runctl.1.gz":                  "man/runctl.1",
		"/usr/local/share/bash-completion/completions/runctl":    "completions/runctl.bash",
		"/usr/local/share/zsh/site-functions/_runctl":            "completions/_runctl",
		"/usr/local/share/fish/vendor_completions.d/runctl.fish": "completions/runctl.fish",
		"/usr/local/lib/systemd/system/runctl.operator.socket":   "systemd/runctl.operator.socket",
	}
	for p, src := range want {
		fi, err := os.Stat(filepath.Join(dest, p))
		if err != nil {
			t.Errorf("make install did not install %s: %v", p, err)
			continue
		}
		mode := os.FileMode(0o644)
		if src == "" {
			mode = 0o755
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), mode)
		}
		if src == "" {
			continue
		}
		got := readMaybeGzip(t, filepath.Join(dest, p))
		if orig, _ := os.ReadFile(src); !bytes.Equal(got, orig) {
			t.Errorf("%s differs from packaging/%s", p, src)
		}
	}
	checkStatic(t, filepath.Join(dest, "usr/local/bin/runctl"), arches[hostArch].machine)
	out, err := exec.Command(filepath.Join(dest, "usr/local/bin/runctl"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "runctl ") {
		t.Errorf("installed runctl --version: %q, %v", out, err)
	}
	// The operator service runs the runctl make installed.
	service := "/usr/local/lib/systemd/system/runctl.operator@.service"
	if b, err := os.ReadFile(filepath.Join(dest, service)); err != nil || !strings.Contains(string(b), "\nExecStart=/usr/local/bin/runctl serve-operator\n") {
		t.Errorf("make install's %s (%v) does not run /usr/local/bin/runctl serve-operator:\n%s", service, err, b)
	}
	want[service] = ""
	run("uninstall")
	for p := range want {
		if _, err := os.Stat(filepath.Join(dest, p)); err == nil {
			t.Errorf("make uninstall left %s", p)
		}
	}
}

func readMaybeGzip(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(p, ".gz") {
		return b
	}
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	out, err := io.ReadAll(bufio.NewReader(z))
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return out
}
