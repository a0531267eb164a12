package packaging

// The Debian package, installed for real: dpkg -i in the systemd sandbox
// (whose root is an overlay of the host, so dpkg writes only there), runctl
// used as installed, its completions and polkit rule at work, then purged.
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
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

const root = ".."

var (
	sb *sandbox.Sandbox
	// deb is the package to test, where the sandbox sees it.
	deb string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Getenv(sandbox.SkipEnv) == "1" {
			return sandbox.RunTests(m, &sb, sandbox.Options{})
		}
		built, err := packageFile()
		if err != nil {
			fmt.Fprintf(os.Stderr, "cannot build the .deb the install test needs: %v\n", err)
			return 1
		}
		// Copied before the sandbox boots, where it sees it: not under /tmp.
		dir, err := os.MkdirTemp(mkdirAll(sandbox.StateRoot()), "deb-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		deb = filepath.Join(dir, filepath.Base(built))
		if err := copyFile(built, deb); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return sandbox.RunTests(m, &sb, sandbox.Options{})
	}())
}

func mkdirAll(d string) string { os.MkdirAll(d, 0o755); return d }

// packageFile is $RUNCTL_DEB, or dist/runctl_VERSION_ARCH.deb built by
// `make deb` unless it is there and newer than everything it is built from.
func packageFile() (string, error) {
	if p := os.Getenv("RUNCTL_DEB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("RUNCTL_DEB: %w", err)
		}
		return p, nil
	}
	version, err := changelogVersion()
	if err != nil {
		return "", err
	}
	arch, err := exec.Command("dpkg", "--print-architecture").Output()
	if err != nil {
		return "", fmt.Errorf("cannot ask dpkg for the architecture: %w", err)
	}
	p := filepath.Join(root, "dist", fmt.Sprintf("runctl_%s_%s.deb", version, strings.TrimSpace(string(arch))))
	if fi, err := os.Stat(p); err == nil && !sourcesNewerThan(fi.ModTime()) {
		return filepath.Abs(p)
	}
	fmt.Fprintf(os.Stderr, "install test: building %s with make deb\n", p)
	cmd := exec.Command("make", "-C", root, "deb")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("make deb: %v\n%s", err, out.String())
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("make deb did not write %s\n%s", p, out.String())
	}
	return filepath.Abs(p)
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

// sourcesNewerThan reports whether anything the package is built from
// changed after t.
func sourcesNewerThan(t time.Time) bool {
	newer := false
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || newer {
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
			slices.Contains([]string{"go.mod", "go.sum", "README.md"}, rel) {
			if fi, err := d.Info(); err == nil && fi.ModTime().After(t) {
				newer = true
			}
		}
		return nil
	})
	return newer
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

	inside(t, "dpkg", "-i", deb)
	files := strings.Fields(inside(t, "dpkg", "-L", "runctl"))
	for _, want := range []string{
		"/usr/bin/runctl",
		"/usr/share/man/man1/runctl.1.gz",
		"/usr/share/bash-completion/completions/runctl",
		"/usr/share/zsh/vendor-completions/_runctl",
		"/usr/share/fish/vendor_completions.d/runctl.fish",
		"/usr/share/polkit-1/rules.d/50-runctl.rules",
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
	t.Run("polkit rule", func(t *testing.T) { testPolkitRule(t) })
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

// testPolkitRule checks, with polkitd evaluating the installed rule, that a
// member of the runctl group may stop, restart, reset-failed and start
// existing runctl-*.service units and nothing else: no signals (polkit is
// not told which one KillUnit sends).
func testPolkitRule(t *testing.T) {
	if _, err := os.Stat("/usr/lib/polkit-1/polkitd"); err != nil {
		t.Fatalf("polkitd is needed to check the polkit rule: apt-get install polkitd (packaging/build-deps.sh test installs it)")
	}
	inside(t, "systemctl", "start", "polkit.service")
	inside(t, "useradd", "--create-home", "--groups", "runctl", "op")
	inside(t, "useradd", "--create-home", "other")
	inside(t, "runctl", "run", "-d", "-n", "pk", "--", "sleep", "1000")
	inside(t, "systemd-run", "--unit=pkother.service", "sleep", "1000")
	const unit = "runctl-pk.service"

	allowed := func(user string, args ...string) {
		t.Helper()
		if out, err := as(t, user, append([]string{"systemctl", "--no-ask-password"}, args...)...); err != nil {
			t.Errorf("%s: systemctl %s was refused: %v\n%s", user, strings.Join(args, " "), err, out)
		}
	}
	denied := func(user string, args ...string) {
		t.Helper()
		out, err := as(t, user, args...)
		switch {
		case err == nil:
			t.Errorf("%s: %s was allowed\n%s", user, strings.Join(args, " "), out)
		case !strings.Contains(out, "Interactive authentication required") && !strings.Contains(out, "Access denied"):
			t.Errorf("%s: %s failed, but not for want of authorization: %v\n%s", user, strings.Join(args, " "), err, out)
		default:
			t.Logf("%s: %s refused: %s", user, strings.Join(args, " "), strings.TrimSpace(out))
		}
	}
	state := func() string {
		t.Helper()
		return strings.TrimSpace(inside(t, "systemctl", "show", "-P", "ActiveState", unit))
	}
	waitState := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); state() != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %s, want %s", unit, state(), want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	allowed("op", "restart", unit)
	denied("other", "systemctl", "--no-ask-password", "stop", unit)
	denied("op", "systemctl", "--no-ask-password", "stop", "pkother.service")
	denied("op", "systemctl", "--no-ask-password", "try-restart", unit)
	// Creating a transient unit is never granted, whatever its name.
	denied("op", "systemd-run", "--no-ask-password", "--unit=runctl-evil.service", "/bin/true")
	denied("op", "systemctl", "--no-ask-password", "kill", "--signal=STOP", unit)
	denied("op", "systemctl", "--no-ask-password", "kill", "--signal=KILL", unit)
	if s := state(); s != "active" {
		t.Fatalf("after the refused kills, %s is %s, want active", unit, s)
	}
	inside(t, "systemctl", "kill", "--signal=KILL", unit) // root may
	waitState("failed")
	allowed("op", "start", unit)
	waitState("active")
	inside(t, "systemctl", "kill", "--signal=KILL", unit)
	waitState("failed")
	allowed("op", "reset-failed", unit)
	if load := strings.TrimSpace(inside(t, "systemctl", "show", "-P", "LoadState", unit)); load != "not-found" {
		t.Errorf("after reset-failed, %s is %s, want not-found", unit, load)
	}
	inside(t, "runctl", "start", "pk")
	allowed("op", "stop", unit)
	if s := state(); s != "inactive" {
		t.Errorf("after stop, %s is %s", unit, s)
	}
	inside(t, "systemctl", "stop", "pkother.service")
}

// make install, for hosts without dpkg: binary, gzipped man page and
// completions under PREFIX; make uninstall takes them away.
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
	out, err := exec.Command(filepath.Join(dest, "usr/local/bin/runctl"), "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "runctl ") {
		t.Errorf("installed runctl --version: %q, %v", out, err)
	}
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
