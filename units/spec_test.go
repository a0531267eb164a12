package units

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func validSpec() *Spec {
	return &Spec{
		Version:     SpecVersion,
		Name:        "nav",
		Argv:        []string{"python3", "nav.py", "--speed=$FAST"},
		Path:        "/usr/bin/python3",
		Dir:         "/opt/bot",
		Env:         []string{"HOME=/root", "PWD=/opt/bot"},
		StopTimeout: Duration(DefaultStopTimeout),
		Created:     time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	}
}

func TestSpecValidate(t *testing.T) {
	if err := validSpec().Validate(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	tests := []struct {
		name   string
		change func(*Spec)
		want   string
	}{
		{"bad name", func(s *Spec) { s.Name = "a/b" }, `invalid run name "a/b"`},
		{"no version", func(s *Spec) { s.Version = 0 }, `invalid spec for run "nav": unknown version 0 (want 1)`},
		{"newer version", func(s *Spec) { s.Version = 2 }, "version 2 is newer than this runctl understands (1)"},
		{"no argv", func(s *Spec) { s.Argv = nil }, "no command"},
		{"relative path", func(s *Spec) { s.Path = "bin/x" }, `executable path "bin/x" is not absolute`},
		{"empty path", func(s *Spec) { s.Path = "" }, `executable path "" is not absolute`},
		{"relative dir", func(s *Spec) { s.Dir = "." }, `working directory "." is not absolute`},
		{"zero stop timeout", func(s *Spec) { s.StopTimeout = 0 }, "stop timeout 0s is below 1us"},
		{"negative stop timeout", func(s *Spec) { s.StopTimeout = Duration(-time.Second) }, "stop timeout -1s is below 1us"},
		{"stop timeout read as none", func(s *Spec) { s.StopTimeout = Duration(999) }, "stop timeout 999ns is below 1us, which systemd would read as no timeout"},
		{"restart interval read as none", func(s *Spec) { s.MaxRestarts, s.Within = 3, Duration(500) }, "restart interval 500ns is below 1us, which systemd would read as no limit"},
		{"restart burst wraps", func(s *Spec) { s.MaxRestarts, s.Within = math.MaxUint32, Duration(time.Second) }, "at most 4294967294 restarts"},
		{"env noncharacter", func(s *Spec) { s.Env = append(s.Env, "A=x\ufdd0") }, `invalid environment variable "A": value contains U+FDD0`},
		{"bad env name", func(s *Spec) { s.Env = append(s.Env, "A-B=1") }, `invalid environment variable "A-B"`},
		{"bad env value", func(s *Spec) { s.Env = append(s.Env, "A=\xff") }, `invalid environment variable "A": value is not valid UTF-8`},
		{"env without =", func(s *Spec) { s.Env = append(s.Env, "A") }, `want NAME=VALUE`},
		{"duplicate env", func(s *Spec) { s.Env = append(s.Env, "HOME=/x") }, `environment variable "HOME" is set twice`},
		{"argv not utf-8", func(s *Spec) { s.Argv = append(s.Argv, "\xff") }, "argument 3 is not valid UTF-8"},
		{"argv with NUL", func(s *Spec) { s.Argv[0] = "a\x00" }, "argument 0 is not valid UTF-8 or contains a NUL byte"},
		{"path not utf-8", func(s *Spec) { s.Path = "/bin/\xff" }, "executable path"},
		{"dir with NUL", func(s *Spec) { s.Dir = "/a\x00" }, "working directory"},
		{"user not utf-8", func(s *Spec) { s.User = "\xff" }, "user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := validSpec()
			tt.change(s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestSpecJSON(t *testing.T) {
	s := validSpec()
	s.User = "bot"
	s.StopTimeout = Duration(90 * time.Second)
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"stop_timeout":"1m30s"`) {
		t.Errorf("stop_timeout not written as a duration string: %s", data)
	}
	var back Spec
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", data, err)
	}
	if !reflect.DeepEqual(&back, s) {
		t.Errorf("JSON round trip:\n got %+v\nwant %+v", back, *s)
	}

	s.User = ""
	data, _ = json.Marshal(s)
	if strings.Contains(string(data), `"user"`) {
		t.Errorf("empty user written: %s", data)
	}
}

func TestDurationJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    Duration
		wantErr bool
	}{
		{`"10s"`, Duration(10 * time.Second), false},
		{`"1m30s"`, Duration(90 * time.Second), false},
		{`"250ms"`, Duration(250 * time.Millisecond), false},
		{`"0s"`, 0, false},
		{`10`, 0, true},
		{`"10"`, 0, true},
		{`"soon"`, 0, true},
		{`null`, 0, false}, // like every other JSON type: null leaves it alone
	}
	for _, tt := range tests {
		var d Duration
		err := json.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.wantErr || d != tt.want {
			t.Errorf("Unmarshal(%s) = %v, %v; want %v, error %v", tt.in, d, err, tt.want, tt.wantErr)
		}
	}
	out, err := json.Marshal(Duration(DefaultStopTimeout))
	if err != nil || string(out) != `"10s"` {
		t.Errorf("Marshal(DefaultStopTimeout) = %s, %v; want \"10s\"", out, err)
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		argv []string
		want string
	}{
		{[]string{"python3", "bot.py"}, "python3 bot.py"},
		{[]string{"./run.sh", "--port=8080", "a,b", "x@y:z", "50%", "+1"}, "./run.sh --port=8080 a,b x@y:z 50% +1"},
		{[]string{"echo", ""}, "echo ''"},
		{[]string{"echo", "hello world"}, "echo 'hello world'"},
		{[]string{"echo", "it's"}, `echo 'it'\''s'`},
		{[]string{"echo", "$HOME"}, "echo '$HOME'"},
		{[]string{"echo", "%n"}, "echo %n"},
		{[]string{"echo", "a;b", "a|b", "a&b", "*", "~", "#x", "`x`", `a\b`, `"q"`}, `echo 'a;b' 'a|b' 'a&b' '*' '~' '#x' '` + "`x`" + `' 'a\b' '"q"'`},
		{[]string{"echo", "café"}, "echo 'café'"},
		{[]string{"echo", "line1\nline2"}, `echo $'line1\nline2'`},
		{[]string{"echo", "tab\there", "it's\n"}, `echo $'tab\there' $'it\'s\n'`},
		{[]string{"echo", "bell\a", "del\x7f", `back\slash` + "\n"}, `echo $'bell\x07' $'del\x7f' $'back\\slash\n'`},
		{[]string{"echo", "bad\xffutf8"}, `echo $'bad\xffutf8'`},
		{[]string{"echo", "zero\u200bwidth"}, `echo $'zero\u200bwidth'`},
		{[]string{"A=b", "A=b"}, "'A=b' A=b"},
		{[]string{"my prog"}, "'my prog'"},
	}
	for _, tt := range tests {
		s := &Spec{Argv: tt.argv}
		if got := s.CommandLine(); got != tt.want {
			t.Errorf("CommandLine(%q)\n got %s\nwant %s", tt.argv, got, tt.want)
		}
		if got := s.CommandLine(); strings.ContainsAny(got, "\n\r") {
			t.Errorf("CommandLine(%q) = %q spans lines", tt.argv, got)
		}
	}
}

func writeFile(t *testing.T, path string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask may have cut it
		t.Fatal(err)
	}
}

func TestResolveExecutable(t *testing.T) {
	root := t.TempDir()
	bin1 := filepath.Join(root, "bin1")
	bin2 := filepath.Join(root, "bin2")
	work := filepath.Join(root, "work")
	writeFile(t, filepath.Join(bin1, "plain"), 0o644) // not executable: skipped in PATH
	writeFile(t, filepath.Join(bin2, "plain"), 0o755) // found instead
	writeFile(t, filepath.Join(bin1, "first"), 0o700) // wins over bin2/first
	writeFile(t, filepath.Join(bin2, "first"), 0o755)
	writeFile(t, filepath.Join(bin2, "groupx"), 0o610) // any execute bit will do
	writeFile(t, filepath.Join(work, "tool"), 0o755)   // relative to cwd
	writeFile(t, filepath.Join(work, "sub", "noexec"), 0o644)
	if err := os.MkdirAll(filepath.Join(bin1, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(bin2, "dir"), 0o755) // the directory in bin1 is skipped
	if err := os.Symlink(filepath.Join(work, "tool"), filepath.Join(bin2, "link")); err != nil {
		t.Fatal(err)
	}
	// A relative PATH entry must not be searched, even if cwd holds the file.
	writeFile(t, filepath.Join(work, "onlyhere"), 0o755)

	path := strings.Join([]string{"", ".", "relative/bin", bin1, bin2}, string(os.PathListSeparator))
	tests := []struct {
		argv0   string
		want    string
		wantErr string
	}{
		{argv0: "plain", want: filepath.Join(bin2, "plain")},
		{argv0: "first", want: filepath.Join(bin1, "first")},
		{argv0: "groupx", want: filepath.Join(bin2, "groupx")},
		{argv0: "dir", want: filepath.Join(bin2, "dir")},
		{argv0: "link", want: filepath.Join(bin2, "link")}, // not resolved: argv[0] tricks keep working
		{argv0: "./tool", want: filepath.Join(work, "tool")},
		{argv0: "sub/../tool", want: filepath.Join(work, "tool")},
		{argv0: filepath.Join(work, "tool"), want: filepath.Join(work, "tool")},
		{argv0: "missing", wantErr: `not found in PATH`},
		{argv0: "onlyhere", wantErr: `not found in PATH`},
		{argv0: "./missing", wantErr: `"` + filepath.Join(work, "missing") + `" does not exist`},
		{argv0: "sub/noexec", wantErr: `"` + filepath.Join(work, "sub", "noexec") + `" is not executable`},
		{argv0: "./sub", wantErr: `"` + filepath.Join(work, "sub") + `" is a directory`},
		{argv0: bin1 + "/", wantErr: `"` + bin1 + `" is a directory`},
		{argv0: "/dev/null", wantErr: `"/dev/null" is not a regular file`},
		{argv0: "", wantErr: "command name is empty"},
	}
	for _, tt := range tests {
		got, err := ResolveExecutable(tt.argv0, path, work)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ResolveExecutable(%q) = %q, %v; want error %q", tt.argv0, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ResolveExecutable(%q) = %q, %v; want %q", tt.argv0, got, err, tt.want)
		}
	}

	if _, err := ResolveExecutable("./tool", path, "work"); err == nil || !strings.Contains(err.Error(), `working directory "work" is not absolute`) {
		t.Errorf("relative cwd: error = %v, want it refused", err)
	}
	if _, err := ResolveExecutable("plain", "", work); err == nil || err.Error() != `not found in PATH` {
		t.Errorf("empty PATH: error = %v, want not found", err)
	}
}

// ls learns a run's command line, and whether it can have restarts, from
// the Description alone.
func TestParseDescription(t *testing.T) {
	for _, policy := range append([]string{""}, RestartPolicies...) {
		s := validSpec()
		s.Restart = policy
		cl, restarts, ok := ParseDescription(s.Name, s.Description())
		if !ok || cl != s.CommandLine() || restarts != s.Restarts() {
			t.Errorf("restart %q: %q parsed as (%q, %v, %v), want (%q, %v, true)", policy, s.Description(), cl, restarts, ok, s.CommandLine(), s.Restarts())
		}
		if _, _, ok := ParseDescription(s.Name+"x", s.Description()); ok {
			t.Errorf("%q parsed as a Description of run %sx", s.Description(), s.Name)
		}
	}
	if _, _, ok := ParseDescription("nav", "runctl run nav (restart sometimes): x"); ok {
		t.Error("a Description with an unknown restart policy parsed")
	}
}
