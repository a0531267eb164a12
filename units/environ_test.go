package units

import (
	"slices"
	"strings"
	"testing"
)

func TestValidEnvName(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"PATH", true},
		{"_", true},
		{"_x1", true},
		{"lower_case", true},
		{"A1", true},
		{"", false},
		{"1A", false},
		{"A-B", false},
		{"A.B", false},
		{"A B", false},
		{"A=B", false},
		{"É", false},
		{"export FOO", false},
	}
	for _, tt := range tests {
		if got := validEnvName(tt.name); got != tt.want {
			t.Errorf("validEnvName(%q) = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDroppedEnvNamesAreValid(t *testing.T) {
	for _, name := range droppedEnv {
		if !validEnvName(name) {
			t.Errorf("droppedEnv has %q, which is not a valid name", name)
		}
	}
}

func TestCaptureEnv(t *testing.T) {
	tests := []struct {
		name        string
		environ     []string
		extra       []string
		dir         string
		wantEnv     []string
		wantDropped []string
	}{
		{
			name:    "sorted with PWD from dir",
			environ: []string{"PATH=/usr/bin:/bin", "HOME=/root", "LANG=C.UTF-8"},
			dir:     "/srv/bot",
			wantEnv: []string{"HOME=/root", "LANG=C.UTF-8", "PATH=/usr/bin:/bin", "PWD=/srv/bot"},
		},
		{
			name: "shell and systemd bookkeeping dropped silently",
			environ: []string{
				"_=/usr/bin/runctl", "OLDPWD=/", "PWD=/home/me", "SHLVL=2", "COLUMNS=80", "LINES=24",
				"INVOCATION_ID=abc", "JOURNAL_STREAM=8:123", "NOTIFY_SOCKET=/run/systemd/notify",
				"LISTEN_PID=1", "LISTEN_FDS=1", "LISTEN_FDNAMES=x", "WATCHDOG_PID=1", "WATCHDOG_USEC=1",
				"MANAGERPID=1", "SYSTEMD_EXEC_PID=1", "MAINPID=1", "SERVICE_RESULT=success",
				"EXIT_CODE=exited", "EXIT_STATUS=0", "MONITOR_SERVICE_RESULT=x", "MONITOR_EXIT_CODE=x",
				"MONITOR_EXIT_STATUS=x", "MONITOR_INVOCATION_ID=x", "MONITOR_UNIT=x",
				"RUNTIME_DIRECTORY=/run/x", "STATE_DIRECTORY=/var/lib/x", "CACHE_DIRECTORY=/var/cache/x",
				"LOGS_DIRECTORY=/var/log/x", "CONFIGURATION_DIRECTORY=/etc/x", "CREDENTIALS_DIRECTORY=/run/credentials/x",
				"KEEP=1",
			},
			dir:     "/srv",
			wantEnv: []string{"KEEP=1", "PWD=/srv"},
		},
		{
			name:        "invalid names and values reported",
			environ:     []string{"GOOD=1", "1BAD=x", "BAD-NAME=x", "BAD_VALUE=\xff", "NOEQUALS", "=C:", "A.B=c"},
			dir:         "/",
			wantEnv:     []string{"GOOD=1", "PWD=/"},
			wantDropped: []string{"", "1BAD", "A.B", "BAD-NAME", "BAD_VALUE", "NOEQUALS"},
		},
		{
			name:    "later duplicates win",
			environ: []string{"A=1", "B=1", "A=2"},
			dir:     "/",
			wantEnv: []string{"A=2", "B=1", "PWD=/"},
		},
		{
			name:    "extra overrides environ and PWD",
			environ: []string{"A=1", "B=1"},
			extra:   []string{"A=from-E", "C=new", "PWD=/elsewhere", "C=newer", "SHLVL=9"},
			dir:     "/srv",
			wantEnv: []string{"A=from-E", "B=1", "C=newer", "PWD=/elsewhere", "SHLVL=9"},
		},
		{
			name:        "extra fixes a dropped variable",
			environ:     []string{"X=\xff"},
			extra:       []string{"X=ok"},
			dir:         "/",
			wantEnv:     []string{"PWD=/", "X=ok"},
			wantDropped: nil,
		},
		{
			name:    "values kept verbatim",
			environ: []string{"Q=a=b=c", "E=", "S=  spaced  ", "N=line1\nline2", "D=$HOME%n`x`\\"},
			dir:     "/",
			wantEnv: []string{"D=$HOME%n`x`\\", "E=", "N=line1\nline2", "PWD=/", "Q=a=b=c", "S=  spaced  "},
		},
		{
			name:    "no dir, no PWD",
			environ: []string{"PWD=/home/me"},
			wantEnv: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, dropped, err := CaptureEnv(tt.environ, tt.extra, tt.dir)
			if err != nil {
				t.Fatalf("CaptureEnv: %v", err)
			}
			if !slices.Equal(env, tt.wantEnv) {
				t.Errorf("env = %q\nwant  %q", env, tt.wantEnv)
			}
			if !slices.Equal(dropped, tt.wantDropped) {
				t.Errorf("dropped = %q, want %q", dropped, tt.wantDropped)
			}
			if envErr := firstEnvError(env); envErr != nil {
				t.Errorf("captured env has an invalid entry: %v", envErr)
			}
		})
	}
}

func firstEnvError(env []string) error {
	for _, kv := range env {
		if err := envError(kv); err != nil {
			return err
		}
	}
	return nil
}

func TestCaptureEnvErrors(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		dir   string
		want  string
	}{
		{"missing =", []string{"FOO"}, "/", `invalid -E "FOO": want NAME=VALUE`},
		{"bad name", []string{"1X=y"}, "/", `invalid -E "1X=...": "1X" is not a valid variable name (use A-Z a-z 0-9 _, not starting with a digit)`},
		{"empty name", []string{"=y"}, "/", `invalid -E "=...": "" is not a valid variable name`},
		{"bad utf-8 hides value", []string{"TOKEN=secret\xff"}, "/", `invalid -E "TOKEN=...": value is not valid UTF-8`},
		{"nul", []string{"A=a\x00b"}, "/", `invalid -E "A=...": value contains a NUL byte`},
		{"second one bad", []string{"A=1", "B C=2"}, "/", `invalid -E "B C=...": "B C" is not a valid variable name`},
		{"bad dir", nil, "/srv/\xff", `invalid working directory "/srv/\xff"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, _, err := CaptureEnv([]string{"HOME=/root"}, tt.extra, tt.dir)
			if err == nil {
				t.Fatalf("CaptureEnv(extra=%q) = %q, nil; want error %q", tt.extra, env, tt.want)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q shows the value", err)
			}
		})
	}
}

func TestSearchPath(t *testing.T) {
	if got := SearchPath([]string{"A=1", "PATH=/opt/x:/bin"}); got != "/opt/x:/bin" {
		t.Errorf("SearchPath with PATH = %q, want the run's own", got)
	}
	if got := SearchPath([]string{"A=1"}); got != managerPath {
		t.Errorf("SearchPath without PATH = %q, want the manager's %q", got, managerPath)
	}
}
