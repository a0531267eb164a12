package packaging

// Builds that run everywhere: every way of building runctl (make build, the
// .debs of each architecture, the README's go build by hand) makes a static
// binary, which starts whatever the glibc of the robot; the .deb of another
// architecture holds a binary for that one, run here under qemu-user.

import (
	"archive/tar"
	"bufio"
	"debug/elf"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/runctl/runctl/sandbox"
)

// arches: what each Debian architecture's binaries are, and qemu-user's
// name for it.
var arches = map[string]struct {
	machine elf.Machine
	qemu    string
}{
	"amd64": {elf.EM_X86_64, "x86_64"},
	"arm64": {elf.EM_AARCH64, "aarch64"},
}

func TestEachDebHoldsAStaticBinaryForItsArchitectureThatRuns(t *testing.T) {
	if debs == nil {
		t.Skipf("the .debs are built only with the systemd tests (%s=1)", sandbox.SkipEnv)
	}
	version, err := changelogVersion()
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range slices.Sorted(maps.Keys(debs)) {
		t.Run(arch, func(t *testing.T) {
			t.Parallel()
			p := debs[arch]
			out, err := exec.Command("dpkg-deb", "-f", p, "Architecture").Output()
			if err != nil {
				t.Fatalf("dpkg-deb -f %s: %v", p, err)
			}
			if got := strings.TrimSpace(string(out)); got != arch {
				t.Errorf("%s says Architecture: %s, want %s", p, got, arch)
			}
			bin := extractFromDeb(t, p, "./usr/bin/runctl")
			want, ok := arches[arch]
			if !ok {
				t.Fatalf("no ELF machine known for %s: add it to arches", arch)
			}
			checkStatic(t, bin, want.machine)

			cmd := exec.Command(bin, "--version")
			if arch != hostArch {
				// Without binfmt_misc: qemu-user runs the binary it is given.
				q, err := lookPath("qemu-"+want.qemu+"-static", "qemu-"+want.qemu)
				if err != nil {
					t.Fatalf("cannot run the %s binary: %v; apt-get install qemu-user-static (packaging/build-deps.sh test installs it)", arch, err)
				}
				cmd = exec.Command(q, bin, "--version")
			}
			out, err = cmd.CombinedOutput()
			if err != nil || strings.TrimSpace(string(out)) != "runctl "+version {
				t.Errorf("%s: %v\n%s\nwant runctl %s", strings.Join(cmd.Args, " "), err, out, version)
			}
		})
	}
}

// The README's build by hand makes a static binary too.
func TestReadmeGoBuildIsStatic(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var builds [][]string
	fenced := false
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		if cmd, _, _ := strings.Cut(line, "#"); fenced && (strings.Contains(cmd, "go build") || strings.Contains(cmd, "go install")) {
			builds = append(builds, strings.Fields(cmd))
		}
	}
	if len(builds) == 0 {
		t.Fatal("README.md shows no go build command in a code block")
	}
	for _, f := range builds {
		env := []string{}
		for len(f) > 0 && strings.Contains(f[0], "=") {
			env, f = append(env, f[0]), f[1:]
		}
		if !slices.Contains(env, "CGO_ENABLED=0") {
			t.Errorf("README.md: %q builds with cgo (a dynamic binary, tied to the build machine's glibc): start it with CGO_ENABLED=0", strings.Join(f, " "))
			continue
		}
		if len(f) < 2 || f[0] != "go" || f[1] != "build" {
			t.Errorf("README.md: cannot check %q: not a go build", strings.Join(f, " "))
			continue
		}
		out := filepath.Join(t.TempDir(), "runctl")
		args := slices.Clone(f[1:])
		if i := slices.Index(args, "-o"); i >= 0 && i+1 < len(args) {
			args[i+1] = out
		} else {
			args = append([]string{args[0], "-o", out}, args[1:]...)
		}
		cmd := exec.Command("go", args...)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", strings.Join(env, " "), strings.Join(cmd.Args, " "), err, b)
		}
		// Go's names for these architectures are Debian's.
		goarch := hostArch
		for _, e := range env {
			if v, ok := strings.CutPrefix(e, "GOARCH="); ok {
				goarch = v
			}
		}
		want, ok := arches[goarch]
		if !ok {
			t.Fatalf("no ELF machine known for %s: add it to arches", goarch)
		}
		checkStatic(t, out, want.machine)
	}
}

// checkStatic fails t unless the ELF file at p is a statically linked
// executable for machine: no program interpreter, no shared libraries.
func checkStatic(t *testing.T, p string, machine elf.Machine) {
	t.Helper()
	f, err := elf.Open(p)
	if err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	defer f.Close()
	if f.Machine != machine {
		t.Errorf("%s is for %v, want %v", p, f.Machine, machine)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			libs, _ := f.ImportedLibraries()
			t.Errorf("%s is dynamically linked (%v; libraries %q), want static: build with CGO_ENABLED=0", p, prog.Type, libs)
			break
		}
	}
}

// extractFromDeb writes the file name (as dpkg-deb lists it) of the .deb at
// p to a temporary folder and returns its path there.
func extractFromDeb(t *testing.T, p, name string) string {
	t.Helper()
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", p)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdout.Close()
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			t.Fatalf("%s has no %s", p, name)
		}
		if err != nil {
			t.Fatalf("dpkg-deb --fsys-tarfile %s: %v", p, err)
		}
		if h.Name != name {
			continue
		}
		out := filepath.Join(t.TempDir(), filepath.Base(name))
		f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(f, tr); err != nil {
			f.Close()
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		return out
	}
}

func lookPath(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New(strings.Join(names, " or ") + " not found")
}
