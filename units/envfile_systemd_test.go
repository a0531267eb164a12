package units

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// These tests hand files to systemd's own parser, load_env_file() in
// libsystemd-shared, through python3's ctypes. They skip where either is
// missing; the port in envfile.go is of systemd 252, so the comparison on
// arbitrary input runs against 252 only.

const loadEnvFilePy = `
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
f = lib.load_env_file
f.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.POINTER(ctypes.c_char_p))]
f.restype = ctypes.c_int
out = []
for path in sys.argv[2:]:
    ret = ctypes.POINTER(ctypes.c_char_p)()
    if f(None, path.encode(), ctypes.byref(ret)) < 0:
        out.append(None)
        continue
    env = []
    i = 0
    while ret and ret[i] is not None:
        env.append(ret[i].hex())
        i += 1
    out.append(env)
json.dump(out, sys.stdout)
`

// systemdLoadEnvFiles returns, for each file, what systemd's load_env_file
// returns for it (nil, false on error), and the libsystemd-shared version.
func systemdLoadEnvFiles(t *testing.T, files [][]byte) (results [][]string, ok []bool, version string) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed to call systemd's own parser: apt-get install python3 (packaging/build-deps.sh test installs it)")
	}
	var libs []string
	for _, pattern := range []string{
		"/usr/lib/*/systemd/libsystemd-shared-*.so",
		"/usr/lib64/systemd/libsystemd-shared-*.so",
		"/usr/lib/systemd/libsystemd-shared-*.so",
	} {
		m, _ := filepath.Glob(pattern)
		libs = append(libs, m...)
	}
	if len(libs) == 0 {
		t.Fatal("libsystemd-shared not found: the systemd package provides it, and this test checks the parser against it")
	}
	lib := libs[0]
	version = regexp.MustCompile(`libsystemd-shared-([0-9]+)`).FindStringSubmatch(lib)[1]

	dir := t.TempDir()
	args := []string{"-c", loadEnvFilePy, lib}
	for i, data := range files {
		p := filepath.Join(dir, fmt.Sprintf("%d.env", i))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	cmd := exec.Command(python, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr // systemd logs the files it rejects
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cannot call load_env_file from %s: %v\n%s", lib, err, stderr.String())
	}
	var raw [][]string
	if err := json.Unmarshal(out, &raw); err != nil || len(raw) != len(files) {
		t.Fatalf("cannot read the helper's output (%v): %.200s", err, out)
	}
	for _, r := range raw {
		if r == nil {
			results = append(results, nil)
			ok = append(ok, false)
			continue
		}
		env := []string{}
		for _, h := range r {
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			env = append(env, string(b))
		}
		results = append(results, env)
		ok = append(ok, true)
	}
	return results, ok, version
}

func TestRenderEnvFileMatchesSystemd(t *testing.T) {
	var envs [][]string
	var all []string
	for i, v := range hostileValues {
		kv := envVarName(i) + "=" + v
		envs = append(envs, []string{kv})
		all = append(all, kv)
	}
	envs = append(envs, all, nil)
	var files [][]byte
	for _, env := range envs {
		data, err := RenderEnvFile(env)
		if err != nil {
			t.Fatalf("RenderEnvFile(%q): %v", env, err)
		}
		files = append(files, data)
	}
	results, ok, version := systemdLoadEnvFiles(t, files)
	t.Logf("checked against libsystemd-shared %s", version)
	for i, env := range envs {
		if !ok[i] {
			t.Errorf("systemd rejected the file for %q:\n%s", env, files[i])
			continue
		}
		if !slices.Equal(results[i], env) {
			t.Errorf("systemd read the file for %q as %q\nfile: %q", env, results[i], files[i])
		}
	}
}

// TestParseEnvFileMatchesSystemd feeds the same files, hand-written and
// random, to the port and to systemd 252.
func TestParseEnvFileMatchesSystemd(t *testing.T) {
	files := [][]byte{
		[]byte(""),
		[]byte("# a\n; b\n  # c\nA=1\n"),
		[]byte("A=  x y  \t\nB=z"),
		[]byte(`A=a"b"c'd'`),
		[]byte(`A=a\ \$b\\c\n`),
		[]byte("A=x\\ \n"),
		[]byte("A=one\\\ntwo\n"),
		[]byte("A='$HOME \\n \"x\"'"),
		[]byte("A=\"\\$ \\\" \\\\ \\` \\n \\a\""),
		[]byte("A=\"one\\\ntwo\""),
		[]byte("A=\"x\\\ry\""),
		[]byte(`A="a" 'b' c`),
		[]byte("  A \t= 1\n"),
		[]byte("A=\nB=\"\"\nC=''\n"),
		[]byte("JUNK\nA=1\n"),
		[]byte("A=1\nB=2\nA=3\n"),
		[]byte("A=1\rB=2\r\n"),
		[]byte(`A="abc`),
		[]byte("A="),
		[]byte("A=1\nB=2\x00\nC=3\n"),
		[]byte("# x \\\nA=1\nB=2\n"),
		[]byte("=x=y\n=z=w\n"),
		[]byte("A=1\nB=\xff\n"),
		[]byte("export B=2\n"),
		[]byte("A=x \\\n y \n"),
	}
	rng := rand.New(rand.NewPCG(252, 1))
	alphabet := []string{"A", "B", "_", "1", "=", "=", "\"", "'", "\\", "\n", "\n", "\r", "\t", " ", " ", "#", ";", "$", "`", "x", "é", "\xff", "\x00"}
	for range 3000 {
		var b strings.Builder
		for range rng.IntN(40) {
			// Mostly without the last two, so most files are valid.
			n := len(alphabet)
			if rng.IntN(10) > 0 {
				n -= 2
			}
			b.WriteString(alphabet[rng.IntN(n)])
		}
		files = append(files, []byte(b.String()))
	}

	results, ok, version := systemdLoadEnvFiles(t, files)
	if version != "252" {
		t.Fatalf("found libsystemd-shared %s, but the parser port in envfile_parse_test.go follows 252: compare it with that version's src/basic/env-file.c and update it", version)
	}
	var loaded, entries int
	for i, data := range files {
		got, _, err := loadEnvFile(data)
		if err == nil {
			loaded++
			entries += len(got)
		}
		if (err == nil) != ok[i] {
			t.Errorf("loadEnvFile(%q) error = %v, systemd ok = %v", data, err, ok[i])
			continue
		}
		if err == nil && !slices.Equal(got, results[i]) {
			t.Errorf("loadEnvFile(%q)\n   got %q\nsystemd %q", data, got, results[i])
		}
	}
	t.Logf("%d files, %d loaded with %d assignments, the rest refused by both", len(files), loaded, entries)
}
