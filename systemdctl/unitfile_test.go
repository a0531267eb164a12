package systemdctl

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sd "github.com/coreos/go-systemd/v22/dbus"
	"github.com/godbus/dbus/v5"
	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/sandbox"
	"github.com/runctl/runctl/units"
)

// These tests prove units.RenderUnitFile against the sandbox's systemd: a
// rendered unit file must give the manager the same properties, and the
// program the same argv, environment and directory, as units.Properties does
// for a transient unit.

// hostileArgs are arguments a shell, systemd's unit file parser or a naive
// quoter would mangle.
var hostileArgs = []string{
	"",
	"plain",
	"with space",
	"  leading and trailing  ",
	`"double"`,
	"'single'",
	"it's",
	"$HOME",
	"${X}",
	"$$",
	"$",
	"%n",
	"%%",
	"%",
	"100%",
	"%%n%",
	";",
	`\;`,
	`\\;`,
	"a;b",
	"; ",
	`\`,
	`\\`,
	`back\slash`,
	`trailing\`,
	`\n`, // a literal backslash and n
	`\x41`,
	`\u00e9`,
	`\"`,
	`"`,
	"'",
	"\n",
	"line1\nline2",
	"\t",
	"\r",
	"cr\r\nlf",
	"\x01\x1b[31m\x7f",
	"unicode é ü 日本語 🚀",
	"\u00a0nbsp",
	"\u0085nel\u2028ls\ufeffbom",
	"-dash",
	"@at",
	":colon",
	"+plus",
	"!bang",
	"!!",
	"-@:+!",
	"#hash",
	";comment",
	"[Section]",
	"Key=Value",
	"ExecStart=/bin/false",
	"`id`",
	"$(id)",
	" ",
}

// argvDumper keeps /bin/sh alive without exec'ing anything else, so that
// /proc/MAINPID shows exactly the argv, environment and directory systemd
// gave it. It is an argument itself, so it has to survive the quoting too.
const argvDumper = `trap "exit 0" TERM; sleep 1000 & wait`

// uftDir is the sandbox folder holding the tests' env files, odd
// executables and working directories.
const uftDir = "/run/runctl-uft"

type unitFileCase struct {
	name string
	spec func(s *units.Spec)
	// links are symlinks to /bin/sh and dirs folders to create, in uftDir.
	links, dirs []string
	env         []string
	// envDir holds the env file, in uftDir.
	envDir string
}

func hostileEnv() []string {
	var env []string
	for i, v := range hostileArgs {
		env = append(env, fmt.Sprintf("RUNCTL_V%d=%s", i, v))
	}
	return append(env, "HOME=/nonexistent", "PATH=/usr/bin:/bin:$PATH")
}

func unitFileCases() []unitFileCase {
	shArgv := func(argv0 string, args ...string) []string {
		return append([]string{argv0, "-c", argvDumper}, args...)
	}
	cases := []unitFileCase{
		{name: "hostile args", spec: func(s *units.Spec) { s.Argv = shArgv("sh", hostileArgs...) }, env: hostileEnv()},
		{name: "hostile env file path", envDir: "env dir %n $X;#'\" 日本", env: []string{"A=1"}, spec: func(s *units.Spec) {
			s.Argv = shArgv("sh")
		}},
		{name: "no env file", spec: func(s *units.Spec) { s.Argv = shArgv("sh", "$HOME", "%n") }},
		{name: "no log limit", spec: func(s *units.Spec) { s.Argv, s.NoLogLimit = shArgv("sh"), true }},
		{name: "long args", spec: func(s *units.Spec) {
			s.Argv = shArgv("sh", strings.Repeat("a%\\\" ;$", 16<<10), strings.Repeat("x", 100<<10))
		}},
		{name: "many args", spec: func(s *units.Spec) {
			var args []string
			for i := range 2000 {
				args = append(args, hostileArgs[i%len(hostileArgs)])
			}
			s.Argv = shArgv("sh", args...)
		}},
		{name: "hostile path", links: []string{"-@:+!%n$X;sh#"}, spec: func(s *units.Spec) {
			s.Path = uftDir + "/-@:+!%n$X;sh#"
			s.Argv = shArgv("-@:+!%n$X;sh#", ";")
		}},
		{name: "path with dotdot", links: []string{"-@:+!%n$X;sh#"}, spec: func(s *units.Spec) {
			s.Path = uftDir + "/../runctl-uft/-@:+!%n$X;sh#"
			s.Argv = shArgv("sh")
		}},
		{name: "path with space", links: []string{"bin dir/%n $HOME;sh#"}, spec: func(s *units.Spec) {
			s.Path = uftDir + "/bin dir/%n $HOME;sh#"
			s.Argv = shArgv("%n $HOME;sh#", "x")
		}},
		{name: "unicode path", links: []string{"bin dir/日本 🚀"}, spec: func(s *units.Spec) {
			s.Path = uftDir + "/bin dir/日本 🚀"
			s.Argv = shArgv("日本 🚀")
		}},
		{name: "hostile dir", dirs: []string{`%n $HOME;"q'\b#[x]`}, spec: func(s *units.Spec) {
			s.Dir = uftDir + `/%n $HOME;"q'\b#[x]`
			s.Argv = shArgv("sh")
		}},
		{name: "dir with inner spaces and unicode", dirs: []string{"a  b\u00a0日本 🚀 -x"}, spec: func(s *units.Spec) {
			s.Dir = uftDir + "/a  b\u00a0日本 🚀 -x"
			s.Argv = shArgv("sh")
		}},
		{name: "dir ending in escaped backslash", dirs: []string{`ends\\`}, spec: func(s *units.Spec) {
			s.Dir = uftDir + `/ends\\`
			s.Argv = shArgv("sh")
		}},
		{name: "dir with control character", dirs: []string{"bell\x07esc\x1b"}, spec: func(s *units.Spec) {
			s.Dir = uftDir + "/bell\x07esc\x1b"
			s.Argv = shArgv("sh")
		}},
		{name: "leading dash dir", dirs: []string{"-x"}, spec: func(s *units.Spec) {
			s.Dir = uftDir + "/-x"
			s.Argv = shArgv("sh")
		}},
		{name: "root dir", spec: func(s *units.Spec) {
			s.Dir = "/"
			s.Argv = shArgv("sh")
		}},
		{name: "user and restart", spec: func(s *units.Spec) {
			s.User = "daemon" // verify calls "nobody" unsafe, rightly
			s.Group = "adm"
			s.Restart = "on-failure"
			s.RestartDelay = units.Duration(1500 * time.Millisecond)
			s.MaxRestarts = 3
			s.Within = units.Duration(90 * time.Second)
			s.StopTimeout = units.Duration(2*time.Second + 345*time.Microsecond + 999*time.Nanosecond)
			s.Argv = shArgv("sh", "%u")
		}, env: []string{"A=1"}},
		{name: "watchdog, after and properties", spec: func(s *units.Spec) {
			s.Watchdog = units.Duration(time.Hour + 1500*time.Millisecond)
			s.After = []string{"uft-earlier", "uft-other"}
			s.Properties = []string{"MemoryMax=1G", "KillSignal=SIGINT", "TimeoutStopSec=1min 30s"}
			s.Argv = shArgv("sh")
		}},
		{name: "restart always, no delay", spec: func(s *units.Spec) {
			s.Restart = "always"
			s.StopTimeout = units.Duration(time.Hour)
			s.Argv = shArgv("sh")
		}},
		{name: "restart no", spec: func(s *units.Spec) {
			s.Restart = "no"
			s.Argv = shArgv("sh")
		}},
		{name: "tiny restart durations", spec: func(s *units.Spec) {
			s.Restart = "on-failure"
			s.RestartDelay = units.Duration(999 * time.Nanosecond) // 0us
			s.MaxRestarts = 1
			s.Within = units.Duration(1500 * time.Nanosecond) // 1us: below 1us is refused
			s.StopTimeout = units.Duration(time.Microsecond)
			s.Argv = shArgv("sh")
		}},
	}
	// argv[0] follows the executable, where systemd looks for prefixes and
	// a bare ";" ends the command.
	for _, a := range []string{"", ";", `\;`, "-sh", "@sh", ":sh", "+sh", "!sh", "%n", "$0", `"`, "a b", "\n", `trailing\`, "日本"} {
		cases = append(cases, unitFileCase{
			name: fmt.Sprintf("argv0 %q", a),
			spec: func(s *units.Spec) { s.Argv = shArgv(a, a) },
		})
	}
	return cases
}

// TestUnitFileMatchesTransient renders each spec, loads it as a unit file in
// the sandbox's /etc/systemd/system, and checks it against the same spec
// started as a transient unit from units.Properties.
func TestUnitFileMatchesTransient(t *testing.T) {
	m := connect(t)
	mkdirSandbox(t, uftDir, 0o755)
	t.Cleanup(func() { os.RemoveAll(sb.Path(uftDir)) })
	for _, c := range unitFileCases() {
		t.Run(c.name, func(t *testing.T) {
			for _, l := range c.links {
				p := sb.Path(filepath.Join(uftDir, l))
				mkdirSandbox(t, filepath.Dir(filepath.Join(uftDir, l)), 0o755)
				if err := os.Symlink("/bin/sh", p); err != nil && !errors.Is(err, os.ErrExist) {
					t.Fatal(err)
				}
			}
			for _, d := range append(c.dirs, c.envDir) {
				mkdirSandbox(t, filepath.Join(uftDir, d), 0o755)
			}
			s := testSpec()
			c.spec(s)
			s.Env = c.env
			envFile := ""
			if c.env != nil {
				envFile = filepath.Join(uftDir, c.envDir, s.Name+".env")
			}
			checkUnitFile(t, m, s, envFile)
		})
	}
}

func testSpec() *units.Spec {
	return &units.Spec{
		Version:     units.SpecVersion,
		Name:        fmt.Sprintf("uft%d-%d", seq.Add(1), os.Getpid()),
		Argv:        []string{"sh", "-c", argvDumper},
		Path:        "/bin/sh",
		Dir:         "/",
		StopTimeout: units.Duration(units.DefaultStopTimeout),
		Created:     time.Now(),
	}
}

// checkUnitFile loads s as a unit file and as a transient unit, with s.Env
// in envFile unless that is "", and compares them.
func checkUnitFile(t *testing.T, m *Manager, s *units.Spec, envFile string) {
	t.Helper()
	ctx := t.Context()
	fileUnit := units.UnitName(s.Name)
	transUnit := units.UnitName(s.Name + "-t")
	if envFile != "" {
		data, err := units.RenderEnvFile(s.Env)
		if err != nil {
			t.Fatal(err)
		}
		writeSandbox(t, envFile, data, 0o600)
	}
	unitFile := "/etc/systemd/system/" + fileUnit
	data, err := units.RenderUnitFile(s, envFile, units.ExitRecorder{}, "system", 0)
	if err != nil {
		t.Fatalf("RenderUnitFile: %v", err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, u := range []string{fileUnit, transUnit} {
			m.Kill(ctx, u, unix.SIGKILL)
			m.enqueue(ctx, "StopUnit", u, "replace")
			m.ResetFailed(ctx, u)
		}
		os.Remove(sb.Path(unitFile))
		if envFile != "" {
			os.Remove(sb.Path(envFile))
		}
		daemonReload(t, ctx)
	})
	writeSandbox(t, unitFile, data, 0o644)
	daemonReload(t, ctx)
	if t.Failed() {
		return
	}

	verifyUnitFile(t, unitFile)

	// What the manager made of the file is what Properties would have sent.
	fileProps := loadedProperties(t, m, fileUnit, data)
	compareWithProperties(t, s, envFile, fileProps)

	// The same spec as a transient unit: every property runctl cares about
	// must come out alike, defaults and systemd's own normalizing included.
	if _, err := m.startTransient(ctx, transUnit, units.Properties(s, envFile, units.ExitRecorder{}, 0)); err != nil {
		t.Fatalf("start the spec as transient unit %s: %v", transUnit, err)
	}
	transProps := getAll(t, m, transUnit)
	for _, name := range comparedProperties(s, envFile) {
		got, want := propValue(name, fileProps[name]), undoubled(name, propValue(name, transProps[name]))
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s from the unit file = %#v, as transient unit %#v", name, got, want)
		}
	}

	// And the program sees the same thing.
	if out, err := sb.Command(ctx, "systemctl", "start", fileUnit).CombinedOutput(); err != nil {
		t.Fatalf("systemctl start %s: %v\n%s", fileUnit, err, out)
	}
	fileProc := readProc(t, m, fileUnit)
	transProc := readProc(t, m, transUnit)
	if want := nulJoin(s.Argv); !bytes.Equal(fileProc.cmdline, want) {
		t.Errorf("the program of the unit file got argv\n%q\nwant\n%q", nulSplit(fileProc.cmdline), s.Argv)
	}
	if !bytes.Equal(transProc.cmdline, fileProc.cmdline) {
		t.Errorf("argv differs: unit file %q, transient %q", nulSplit(fileProc.cmdline), nulSplit(transProc.cmdline))
	}
	if fileProc.cwd != s.Dir || transProc.cwd != s.Dir {
		t.Errorf("working directory: unit file %q, transient %q; want %q", fileProc.cwd, transProc.cwd, s.Dir)
	}
	if fileProc.exe != transProc.exe {
		t.Errorf("executable: unit file %q, transient %q", fileProc.exe, transProc.exe)
	}
	fileEnv, transEnv := stableEnv(fileProc.environ), stableEnv(transProc.environ)
	if !slices.Equal(fileEnv, transEnv) {
		t.Errorf("environment differs:\nunit file %q\ntransient %q", fileEnv, transEnv)
	}
	for _, kv := range s.Env {
		if !slices.Contains(fileEnv, kv) {
			t.Errorf("the program of the unit file lacks %q; it has %q", kv, fileEnv)
		}
	}
}

// loadedProperties reads a unit file's properties, failing with systemd's
// load error if it did not load.
func loadedProperties(t *testing.T, m *Manager, unit string, data []byte) map[string]dbus.Variant {
	t.Helper()
	props := getAll(t, m, unit)
	if ls, _ := props["LoadState"].Value().(string); ls != "loaded" {
		t.Fatalf("%s has LoadState %q (%v); file:\n%s", unit, ls, props["LoadError"].Value(), data)
	}
	return props
}

func getAll(t *testing.T, m *Manager, unit string) map[string]dbus.Variant {
	t.Helper()
	var props map[string]dbus.Variant
	obj := m.bus().Object("org.freedesktop.systemd1", unitPath(unit))
	if err := obj.CallWithContext(t.Context(), "org.freedesktop.DBus.Properties.GetAll", 0, "").Store(&props); err != nil {
		t.Fatalf("GetAll %s: %v", unit, err)
	}
	return props
}

// compareWithProperties checks every property units.Properties would send
// against what the manager read from the unit file, both decoded from D-Bus.
func compareWithProperties(t *testing.T, s *units.Spec, envFile string, got map[string]dbus.Variant) {
	t.Helper()
	sent := units.Properties(s, envFile, units.ExitRecorder{}, 0)
	wire := onTheWire(t, sent)
	for _, p := range sent {
		v, ok := got[p.Name]
		if !ok {
			t.Errorf("the manager has no property %s", p.Name)
			continue
		}
		g, w := propValue(p.Name, v), undoubled(p.Name, propValue(p.Name, wire[p.Name]))
		if deps, ok := w.([]string); ok && (p.Name == "After" || p.Name == "Wants") {
			// The manager adds its default dependencies.
			for _, d := range deps {
				if !slices.Contains(g.([]string), d) {
					t.Errorf("%s from the unit file = %q, lacks %s", p.Name, g, d)
				}
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s from the unit file = %#v, Properties sends %#v", p.Name, g, w)
		}
	}
	// The run's environment must come from the file only; Environment=
	// holds just what runctl adds (Spec.AddedEnv).
	want := s.AddedEnv()
	if want == nil {
		want = []string{}
	}
	if env := got["Environment"].Value(); !reflect.DeepEqual(env, want) {
		t.Errorf("the unit file sets Environment= %q, want %q", env, want)
	}
}

// onTheWire encodes props as go-systemd sends them and decodes them again,
// so that they compare with what GetAll returns.
func onTheWire(t *testing.T, props []sd.Property) map[string]dbus.Variant {
	t.Helper()
	body := []any{props}
	msg := &dbus.Message{
		Type: dbus.TypeSignal,
		Headers: map[dbus.HeaderField]dbus.Variant{
			dbus.FieldPath:      dbus.MakeVariant(dbus.ObjectPath("/test")),
			dbus.FieldInterface: dbus.MakeVariant("test.Test"),
			dbus.FieldMember:    dbus.MakeVariant("Test"),
			dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(body...)),
		},
		Body: body,
	}
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		t.Fatalf("encode properties: %v", err)
	}
	back, err := dbus.DecodeMessage(&buf)
	if err != nil {
		t.Fatalf("decode properties: %v", err)
	}
	var decoded []struct {
		Name  string
		Value dbus.Variant
	}
	if err := dbus.Store(back.Body, &decoded); err != nil {
		t.Fatalf("read properties back: %v", err)
	}
	out := make(map[string]dbus.Variant, len(decoded))
	for _, p := range decoded {
		out[p.Name] = p.Value
	}
	return out
}

// propValue turns a property into a value to compare: exec commands keep
// only path, argv and flags (or ignore-failure), dropping timestamps and pids.
func propValue(name string, v dbus.Variant) any {
	x := v.Value()
	switch {
	case name == "After" || name == "Wants":
		// Sets: the order is the manager's.
		deps, _ := x.([]string)
		return slices.Sorted(slices.Values(deps))
	case name == "WatchdogUSec":
		// What the running instance was given: infinity before a start.
		// The environment comparison (WATCHDOG_USEC) checks the value.
		return nil
	case !strings.HasPrefix(name, "Exec"):
		return x
	}
	cmds, ok := x.([][]any)
	if !ok {
		return x
	}
	var out [][]any
	for _, c := range cmds {
		out = append(out, c[:min(3, len(c))])
	}
	return out
}

// undoubled turns the argv Properties sends, with every $ doubled for the
// manager's expansion, into what the program receives, which is what a unit
// file's @: ExecStart holds.
func undoubled(name string, v any) any {
	cmds, ok := v.([][]any)
	if name != "ExecStart" || !ok {
		return v
	}
	var out [][]any
	for _, c := range cmds {
		c = append([]any(nil), c...)
		if argv, ok := c[1].([]string); ok {
			argv = append([]string(nil), argv...)
			for i := range argv {
				argv[i] = strings.ReplaceAll(argv[i], "$$", "$")
			}
			c[1] = argv
		}
		out = append(out, c)
	}
	return out
}

// comparedProperties are compared between the unit file and the transient
// unit: what Properties sets and the defaults behind what it leaves out.
func comparedProperties(s *units.Spec, envFile string) []string {
	names := []string{
		"ExecStart", "User", "Group", "Restart", "RestartUSec", "StartLimitBurst",
		"StartLimitIntervalUSec", "Environment", "EnvironmentFiles", "UnsetEnvironment",
		"KillSignal", "TimeoutStartUSec", "TimeoutAbortUSec", "StandardInput",
		"RemainAfterExit", "DynamicUser", "RootDirectory", "SyslogLevelPrefix",
		"LogRateLimitIntervalUSec", "LogRateLimitBurst", "ExecStopPost",
	}
	for _, p := range units.Properties(s, envFile, units.ExitRecorder{}, 0) {
		names = append(names, p.Name)
	}
	return names
}

type procInfo struct {
	cmdline, environ []byte
	cwd, exe         string
}

// readProc reads the unit's main process as the sandbox sees it.
func readProc(t *testing.T, m *Manager, unit string) procInfo {
	t.Helper()
	pid, _ := getAll(t, m, unit)["MainPID"].Value().(uint32)
	if pid == 0 {
		t.Fatalf("%s has no main process", unit)
	}
	var p procInfo
	var err error
	proc := fmt.Sprintf("/proc/%d/", pid)
	if p.cmdline, err = os.ReadFile(sb.Path(proc + "cmdline")); err != nil {
		t.Fatal(err)
	}
	if p.environ, err = os.ReadFile(sb.Path(proc + "environ")); err != nil {
		t.Fatal(err)
	}
	// Links in /proc resolve against the reader's root: read them inside.
	for _, l := range []struct {
		dst  *string
		name string
	}{{&p.cwd, "cwd"}, {&p.exe, "exe"}} {
		out, err := sb.Command(t.Context(), "readlink", "-n", proc+l.name).Output()
		if err != nil {
			t.Fatalf("readlink %s%s: %v", proc, l.name, err)
		}
		*l.dst = string(out)
	}
	return p
}

// stableEnv is a process environment without what differs per invocation.
func stableEnv(environ []byte) []string {
	var env []string
	for _, kv := range nulSplit(environ) {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case "INVOCATION_ID", "SYSTEMD_EXEC_PID", "JOURNAL_STREAM", "WATCHDOG_PID":
			continue
		}
		env = append(env, kv)
	}
	slices.Sort(env)
	return env
}

func nulJoin(argv []string) []byte {
	var b []byte
	for _, a := range argv {
		b = append(append(b, a...), 0)
	}
	return b
}

func nulSplit(b []byte) []string {
	s := strings.Split(string(b), "\x00")
	return s[:len(s)-1] // each entry ends with NUL
}

// verifyUnitFile runs systemd-analyze verify on the file inside the sandbox
// and fails on anything it says about the file.
func verifyUnitFile(t *testing.T, unitFile string) {
	t.Helper()
	out, _ := sb.Command(t.Context(), "systemd-analyze", "verify", unitFile).CombinedOutput()
	base := filepath.Base(unitFile)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, base) {
			t.Errorf("systemd-analyze verify %s: %s", unitFile, line)
		}
	}
}

func daemonReload(t *testing.T, ctx context.Context) {
	t.Helper()
	if out, err := sb.Command(ctx, "systemctl", "daemon-reload").CombinedOutput(); err != nil {
		t.Errorf("systemctl daemon-reload: %v\n%s", err, out)
	}
}

func writeSandbox(t *testing.T, p string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(sb.Path(p), data, mode); err != nil {
		t.Fatalf("write %s in the sandbox: %v", p, err)
	}
}

func mkdirSandbox(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(sb.Path(p), mode); err != nil {
		t.Fatalf("mkdir %s in the sandbox: %v", p, err)
	}
}

var (
	fuzzOnce sync.Once
	fuzzMgr  *Manager
	fuzzErr  error
)

// fuzzManager is one connection per fuzz worker process, kept for all its
// inputs.
func fuzzManager(t *testing.T) *Manager {
	t.Helper()
	sandbox.Need(t, sb)
	fuzzOnce.Do(func() { fuzzMgr, fuzzErr = Connect(context.Background(), Options{Bus: sb.SystemBus()}) })
	if fuzzErr != nil {
		t.Fatalf("connect to sandbox systemd: %v", fuzzErr)
	}
	return fuzzMgr
}

// fuzzInputs counts a worker's inputs, to reload now and then.
var fuzzInputs atomic.Int32

// FuzzUnitFileRoundTrip renders random argv (the input split at NUL bytes
// into 1..8 UTF-8 strings) and working directory, loads the unit file and
// reads ExecStart and the rest back. RenderUnitFile may refuse argv only for
// what systemd cannot hold (a Unicode noncharacter, a line too long), and a
// directory only if, written as it is, systemd would read another one.
//
// A daemon-reload takes about 80ms, and Go's fuzzer stops fuzzing while it
// minimizes each new input (for up to a minute), so reloading for every
// input left a 20s run frozen after its first find. The manager loads a
// unit file it has not seen on first use, rebuilding its unit file map when
// /etc/systemd/system changed; each input checks the unit came from its own
// file, and every 32nd input reloads to drop the old units.
func FuzzUnitFileRoundTrip(f *testing.F) {
	f.Add([]byte("sh"), "")
	f.Add([]byte(strings.Join(hostileArgs[:8], "\x00")), "opt/bot")
	for _, a := range hostileArgs {
		f.Add([]byte(a+"\x00"+a), strings.ReplaceAll(a, "/", ""))
	}
	for _, d := range []string{`%n $HOME;"q'\b#[x]`, "a ", `a\`, `a\\`, "a//b", "a/./b", "a/../b", "a/", "a\nb", "\ufffe"} {
		f.Add([]byte("x"), d)
	}
	f.Add([]byte("x\x00a\ufffeb"), "")
	f.Fuzz(func(t *testing.T, data []byte, dir string) {
		argv := strings.SplitN(string(data), "\x00", 8)
		for i, a := range argv {
			argv[i] = strings.ToValidUTF8(a, "\uFFFD")
		}
		m := fuzzManager(t)
		s := testSpec()
		s.Path = "/bin/true"
		s.Argv = argv
		if s.Dir = "/" + dir; s.Validate() != nil {
			return // not UTF-8 or has a NUL: runctl never gets this far
		}
		if fuzzInputs.Add(1)%32 == 0 {
			daemonReload(t, t.Context())
		}

		dirRefused := false
		out, err := units.RenderUnitFile(s, "", units.ExitRecorder{}, "system", 0)
		if err != nil {
			// Which one does it refuse?
			s2 := *s
			s2.Dir = "/"
			out, err = units.RenderUnitFile(&s2, "", units.ExitRecorder{}, "system", 0)
			dirRefused = err == nil
		}
		_, nonChar := nonCharacterIn(argv)
		switch {
		case err != nil && (nonChar || strings.Contains(err.Error(), "longer than")):
			return
		case err != nil:
			t.Fatalf("RenderUnitFile(%q) refused representable argv: %v", argv, err)
		case nonChar:
			t.Fatalf("RenderUnitFile(%q) accepted a noncharacter systemd refuses", argv)
		}
		if dirRefused {
			// Write the directory anyway: systemd must read something else.
			plain := strings.Replace(string(out), "\nWorkingDirectory=/\n",
				"\nWorkingDirectory="+strings.ReplaceAll(s.Dir, "%", "%%")+"\n", 1)
			props, err := loadRaw(t, m, plain, false)
			if err == nil && props["LoadState"].Value() == "loaded" && props["WorkingDirectory"].Value() == s.Dir {
				t.Fatalf("RenderUnitFile refused working directory %q, which systemd reads back intact", s.Dir)
			}
			return
		}

		unit := units.UnitName(s.Name)
		unitFile := "/etc/systemd/system/" + unit
		t.Cleanup(func() { os.Remove(sb.Path(unitFile)) })
		writeSandbox(t, unitFile, out, 0o644)
		props := loadedProperties(t, m, unit, out)
		if got := props["FragmentPath"].Value(); got != unitFile {
			t.Fatalf("%s was loaded from %q, want %q", unit, got, unitFile)
		}
		cmds, _ := propValue("ExecStartEx", props["ExecStartEx"]).([][]any)
		want := [][]any{{s.Path, argv, []string{"no-env-expand"}}}
		if !reflect.DeepEqual(cmds, want) {
			t.Fatalf("ExecStartEx from the unit file = %#v, want %#v\nfile:\n%s", cmds, want, out)
		}
		compareWithProperties(t, s, "", props)
	})
}

func nonCharacterIn(argv []string) (rune, bool) {
	for _, a := range argv {
		for _, r := range a {
			if r >= 0xFDD0 && r <= 0xFDEF || r&0xFFFE == 0xFFFE {
				return r, true
			}
		}
	}
	return 0, false
}

// loadRaw writes body as a unit file, reloads if asked (else the manager
// loads it on first use), and returns what the manager made of it: its
// properties, or the error GetAll gave.
func loadRaw(t *testing.T, m *Manager, body string, reload bool) (map[string]dbus.Variant, error) {
	t.Helper()
	unit := units.UnitName(fmt.Sprintf("uftraw%d-%d", seq.Add(1), os.Getpid()))
	unitFile := "/etc/systemd/system/" + unit
	t.Cleanup(func() {
		os.Remove(sb.Path(unitFile))
		if reload {
			daemonReload(t, context.Background())
		}
	})
	writeSandbox(t, unitFile, []byte(body), 0o644)
	if reload {
		daemonReload(t, t.Context())
	}
	var props map[string]dbus.Variant
	obj := m.bus().Object("org.freedesktop.systemd1", unitPath(unit))
	err := obj.CallWithContext(t.Context(), "org.freedesktop.DBus.Properties.GetAll", 0, "").Store(&props)
	return props, err
}

// TestUnitFileRefusalsAreSystemdLimits writes what RenderUnitFile refuses
// the plain way and shows systemd misreading it: the refusals are limits of
// the unit file format, not of the renderer.
func TestUnitFileRefusalsAreSystemdLimits(t *testing.T) {
	m := connect(t)
	mkdirSandbox(t, uftDir+"/trail ", 0o755)
	mkdirSandbox(t, uftDir+"/cont", 0o755)
	tests := []struct {
		name   string
		spec   func(s *units.Spec) // what RenderUnitFile must refuse
		envArg string
		// service is the [Service] section written anyway; want says what
		// a faithful load would show.
		service string
		prop    string
		want    any
	}{
		{
			name:    "dir with trailing space",
			spec:    func(s *units.Spec) { s.Dir = uftDir + "/trail " },
			service: "WorkingDirectory=" + uftDir + "/trail \n",
			prop:    "WorkingDirectory", want: uftDir + "/trail ",
		},
		{
			name:    "dir with trailing backslash",
			spec:    func(s *units.Spec) { s.Dir = uftDir + `/cont\` },
			service: "WorkingDirectory=" + uftDir + "/cont\\\nSyslogIdentifier=x\n",
			prop:    "WorkingDirectory", want: uftDir + `/cont\`,
		},
		{
			name:    "dir with double slash",
			spec:    func(s *units.Spec) { s.Dir = "/run//runctl-uft" },
			service: "WorkingDirectory=/run//runctl-uft\n",
			prop:    "WorkingDirectory", want: "/run//runctl-uft",
		},
		{
			name:    "dir with dotdot",
			spec:    func(s *units.Spec) { s.Dir = uftDir + "/../runctl-uft" },
			service: "WorkingDirectory=" + uftDir + "/../runctl-uft\n",
			prop:    "WorkingDirectory", want: uftDir + "/../runctl-uft",
		},
		{
			name:    "dir with dot",
			spec:    func(s *units.Spec) { s.Dir = "/run/./runctl-uft" },
			service: "WorkingDirectory=/run/./runctl-uft\n",
			prop:    "WorkingDirectory", want: "/run/./runctl-uft",
		},
		{
			name:    "dir with trailing slash",
			spec:    func(s *units.Spec) { s.Dir = uftDir + "/" },
			service: "WorkingDirectory=" + uftDir + "/\n",
			prop:    "WorkingDirectory", want: uftDir + "/",
		},
		{
			name:    "dir with a long component",
			spec:    func(s *units.Spec) { s.Dir = "/" + strings.Repeat("d", 256) },
			service: "WorkingDirectory=/" + strings.Repeat("d", 256) + "\n",
			prop:    "WorkingDirectory", want: "/" + strings.Repeat("d", 256),
		},
		{
			name:    "executable with trailing slash",
			spec:    func(s *units.Spec) { s.Path = "/bin/true/" },
			service: `ExecStart=@:/bin/true/ "x"` + "\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin/true/", []string{"x"}, []string{"no-env-expand"}}},
		},
		{
			name:    "control character in executable, escaped",
			spec:    func(s *units.Spec) { s.Path = "/bin/a\tb" },
			service: `ExecStart=@:"/bin/a\tb" "x"` + "\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin/a\tb", []string{"x"}, []string{"no-env-expand"}}},
		},
		{
			name:    "env file with double slash",
			envArg:  "/run//x.env",
			service: "EnvironmentFile=/run//x.env\n",
			prop:    "EnvironmentFiles", want: [][]any{{"/run//x.env", false}},
		},
		{
			name:    "quote in executable, escaped",
			spec:    func(s *units.Spec) { s.Path = "/bin/it's" },
			service: `ExecStart=@:"/bin/it\x27s" "x"` + "\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin/it's", []string{"x"}, []string{"no-env-expand"}}},
		},
		{
			name:    "double slash in executable",
			spec:    func(s *units.Spec) { s.Path = "/bin//true" },
			service: `ExecStart=@:/bin//true "x"` + "\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin//true", []string{"x"}, []string{"no-env-expand"}}},
		},
		{
			name:    "noncharacter in argument",
			spec:    func(s *units.Spec) { s.Argv = []string{"x", "a\ufffeb"} },
			service: "ExecStart=@:/bin/true \"x\" \"a\ufffeb\"\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin/true", []string{"x", "a\ufffeb"}, []string{"no-env-expand"}}},
		},
		{
			name:    "noncharacter in argument, escaped",
			spec:    func(s *units.Spec) { s.Argv = []string{"x", "a\ufffeb"} },
			service: `ExecStart=@:/bin/true "x" "a\xef\xbf\xbeb"` + "\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin/true", []string{"x", "a\ufffeb"}, []string{"no-env-expand"}}},
		},
		{
			name:    "stop timeout below 1us",
			spec:    func(s *units.Spec) { s.StopTimeout = 1 },
			service: "TimeoutStopSec=0us\n",
			prop:    "TimeoutStopUSec", want: uint64(0),
		},
		{
			name:    "line longer than 1 MiB",
			spec:    func(s *units.Spec) { s.Argv = []string{"x", strings.Repeat("a", 1<<20)} },
			service: `ExecStart=@:/bin/true "x" "` + strings.Repeat("a", 1<<20) + "\"\n",
			prop:    "ExecStartEx", want: [][]any{{"/bin/true", []string{"x", strings.Repeat("a", 1<<20)}, []string{"no-env-expand"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSpec()
			if tt.spec != nil {
				tt.spec(s)
			}
			if _, err := units.RenderUnitFile(s, tt.envArg, units.ExitRecorder{}, "system", 0); err == nil {
				t.Fatalf("RenderUnitFile accepts it")
			}
			body := "[Service]\nType=exec\n"
			if !strings.Contains(tt.service, "ExecStart=") {
				body += "ExecStart=/bin/true\n"
			}
			body += tt.service
			props, err := loadRaw(t, m, body, true)
			if err != nil {
				t.Logf("GetAll fails: %v", err)
				return
			}
			if ls := props["LoadState"].Value(); ls != "loaded" {
				t.Logf("LoadState %q: %v", ls, props["LoadError"].Value())
				return
			}
			got := propValue(tt.prop, props[tt.prop])
			if reflect.DeepEqual(got, tt.want) {
				t.Fatalf("systemd read %s back intact (%#v): RenderUnitFile need not refuse it", tt.prop, got)
			}
			t.Logf("%s reads back as %.100q", tt.prop, fmt.Sprint(got))
		})
	}
}

// TestUnitFileLineLimit loads the longest line RenderUnitFile writes, and
// shows the manager refusing one byte more.
func TestUnitFileLineLimit(t *testing.T) {
	m := connect(t)
	s := testSpec()
	s.Path = "/bin/true"
	s.Argv = []string{"x", ""}
	data, err := units.RenderUnitFile(s, "", units.ExitRecorder{}, "system", 0)
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "ExecStart=") {
			line = l
		}
	}
	// 1 MiB less the newline, as RenderUnitFile allows. A quote takes two
	// bytes in ExecStart= and one in Description=, which stays shorter.
	rest := 1<<20 - 1 - len(line)
	s.Argv[1] = strings.Repeat(`"`, rest/2) + strings.Repeat("a", rest%2)
	data, err = units.RenderUnitFile(s, "", units.ExitRecorder{}, "system", 0)
	if err != nil {
		t.Fatalf("RenderUnitFile at the limit: %v", err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "ExecStart=") && len(l) != 1<<20-1 {
			t.Fatalf("ExecStart= line of %d bytes, want %d", len(l), 1<<20-1)
		}
	}
	unit := units.UnitName(s.Name)
	unitFile := "/etc/systemd/system/" + unit
	t.Cleanup(func() {
		os.Remove(sb.Path(unitFile))
		daemonReload(t, context.Background())
	})
	writeSandbox(t, unitFile, data, 0o644)
	daemonReload(t, t.Context())
	compareWithProperties(t, s, "", loadedProperties(t, m, unit, data))

	longer := strings.Replace(string(data), ` "\"`, ` "a\"`, 1)
	if longer == string(data) {
		t.Fatal("cannot lengthen the ExecStart= line")
	}
	props, err := loadRaw(t, m, longer, true)
	if err == nil && props["LoadState"].Value() == "loaded" {
		t.Fatalf("a line of %d bytes loads: RenderUnitFile could allow it", 1<<20)
	}
	t.Logf("a line of %d bytes: %v %v", 1<<20, err, props["LoadError"].Value())
}

// TestEnvFileBackslashIsGlobbed shows why RenderUnitFile refuses a backslash
// in the environment file's path: the manager globs the path when the
// program starts, so transient unit and unit file alike miss the file.
func TestEnvFileBackslashIsGlobbed(t *testing.T) {
	m := connect(t)
	mkdirSandbox(t, uftDir, 0o755)
	envFile := uftDir + `/back\slash.env`
	writeSandbox(t, envFile, []byte("A=1\n"), 0o600)
	t.Cleanup(func() { os.Remove(sb.Path(envFile)) })

	s := testSpec()
	s.Path, s.Argv = "/bin/true", []string{"true"}
	if _, err := units.RenderUnitFile(s, envFile, units.ExitRecorder{}, "system", 0); err == nil {
		t.Fatal("RenderUnitFile accepts a backslash in the environment file's path")
	}
	trans := unitName(t, m)
	if _, err := m.startTransient(t.Context(), trans, units.Properties(s, envFile, units.ExitRecorder{}, 0)); err == nil {
		t.Fatalf("transient unit with EnvironmentFiles %q started", envFile)
	} else {
		t.Logf("transient unit: %v", err)
	}

	data, err := units.RenderUnitFile(s, uftDir+"/placeholder.env", units.ExitRecorder{}, "system", 0)
	if err != nil {
		t.Fatal(err)
	}
	plain := strings.Replace(string(data), "/placeholder.env", `/back\slash.env`, 1)
	unit := units.UnitName(s.Name)
	unitFile := "/etc/systemd/system/" + unit
	t.Cleanup(func() {
		m.ResetFailed(context.Background(), unit)
		os.Remove(sb.Path(unitFile))
		daemonReload(t, context.Background())
	})
	writeSandbox(t, unitFile, []byte(plain), 0o644)
	daemonReload(t, t.Context())
	out, err := sb.Command(t.Context(), "systemctl", "start", unit).CombinedOutput()
	if err == nil {
		t.Fatalf("unit file with EnvironmentFile=%s started", envFile)
	}
	result, _ := getAll(t, m, unit)["Result"].Value().(string)
	t.Logf("unit file: %v, result %q: %s", err, result, out)
}

// TestNonCharacterRefusedOverDBus: what RenderUnitFile refuses as a Unicode
// noncharacter cannot start as a transient unit either, though Spec.Validate
// (Go's UTF-8 rules) lets it through.
func TestNonCharacterRefusedOverDBus(t *testing.T) {
	m := connect(t)
	s := testSpec()
	s.Path, s.Argv = "/bin/true", []string{"true", "a\ufffeb"}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	_, err := m.startTransient(t.Context(), unitName(t, m), units.Properties(s, "", units.ExitRecorder{}, 0))
	if err == nil {
		t.Fatal("a transient unit with U+FFFE in argv started")
	}
	t.Logf("startTransient: %v", err)
}
