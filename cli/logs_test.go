package cli

import (
	"testing"
)

// -b takes a value only when the next word is a boot, as journalctl's
// optional argument does; anything else is left to be parsed on its own.
func TestLogsBootFlag(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef"
	for _, tc := range []struct {
		args       []string
		boot, name string
		follow     bool
	}{
		{[]string{"logs", "-b", "nav"}, "0", "nav", false},
		{[]string{"logs", "nav", "-b"}, "0", "nav", false},
		{[]string{"logs", "-b", "-1", "nav"}, "-1", "nav", false},
		{[]string{"logs", "-b-1", "nav"}, "-1", "nav", false},
		{[]string{"logs", "-b", "0", "nav"}, "0", "nav", false},
		{[]string{"logs", "--boot=-2", "nav"}, "-2", "nav", false},
		{[]string{"logs", "--boot", "nav"}, "0", "nav", false},
		{[]string{"logs", "-b", "-f", "nav"}, "0", "nav", true},
		{[]string{"logs", "-bf", "nav"}, "0", "nav", true},
		{[]string{"logs", "-b", id, "nav"}, id, "nav", false},
		{[]string{"logs", "-b", id + "-1", "nav"}, id + "-1", "nav", false},
	} {
		if _, _, err := parse(tc.args, "test"); err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		var root CLI
		if _, err := Parser(&root, "test").Parse(tc.args); err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		logs := root.Logs
		if !logs.Boot.Set || logs.Boot.Value != tc.boot || len(logs.Names) != 1 || logs.Names[0] != tc.name || logs.Follow != tc.follow {
			t.Errorf("%q: boot %+v, names %q, follow %v; want boot %q, name %q, follow %v", tc.args, logs.Boot, logs.Names, logs.Follow, tc.boot, tc.name, tc.follow)
		}
	}
	if _, _, err := parse([]string{"logs", "--boot=yesterday", "nav"}, "test"); err == nil {
		t.Errorf("--boot=yesterday is accepted")
	}
}

func TestEscapeControl(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain ünïcødé ✓\ttab", "plain ünïcødé ✓\ttab"},
		{"\x1b]0;pwned\x07\x1b[2J", `\x1b]0;pwned\x07\x1b[2J`},
		{"25\xb0C", `25\xb0C`},
		{"c1 \u009b31m", `c1 \xc2\x9b31m`},
		{"del\x7f cr\r nl\n", `del\x7f cr\x0d nl\x0a`},
		{`back\slash`, `back\slash`},
	} {
		if got := string(escapeControl([]byte(tc.in), false)); got != tc.want {
			t.Errorf("escapeControl(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := string(escapeControl([]byte("a\nb\x1b\n"), true)); got != "a\nb\\x1b\n" {
		t.Errorf("keeping newlines: %q", got)
	}
}

// Colour as systemd decides it: SYSTEMD_COLORS first, then NO_COLOR, then
// a terminal with a TERM that is not dumb (unset is not dumb here).
func TestColourMode(t *testing.T) {
	for _, tc := range []struct {
		env      map[string]string
		terminal bool
		want     bool
	}{
		{map[string]string{"TERM": "xterm"}, true, true},
		{map[string]string{"TERM": "xterm"}, false, false},
		{map[string]string{"TERM": "dumb"}, true, false},
		{map[string]string{}, true, true},
		{map[string]string{"TERM": "xterm", "NO_COLOR": "1"}, true, false},
		{map[string]string{"TERM": "xterm", "NO_COLOR": "0"}, true, false},
		{map[string]string{"TERM": "xterm", "NO_COLOR": ""}, true, true},
		{map[string]string{"TERM": "xterm", "SYSTEMD_COLORS": "0"}, true, false},
		{map[string]string{"TERM": "xterm", "SYSTEMD_COLORS": "false"}, true, false},
		{map[string]string{"TERM": "dumb", "SYSTEMD_COLORS": "1"}, false, true},
		{map[string]string{"SYSTEMD_COLORS": "256"}, false, true},
	} {
		if got := colourMode(func(k string) string { return tc.env[k] }, tc.terminal); got != tc.want {
			t.Errorf("env %v, terminal %v: colour %v, want %v", tc.env, tc.terminal, got, tc.want)
		}
	}
}
