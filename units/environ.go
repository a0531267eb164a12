package units

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// droppedEnv lists variables CaptureEnv leaves out: shell bookkeeping, and
// values systemd sets for each process itself. EnvironmentFile= is applied
// after systemd's own variables, so a stale copy would override the real one.
var droppedEnv = []string{
	"_", "OLDPWD", "PWD", "SHLVL", "COLUMNS", "LINES",
	"INVOCATION_ID", "JOURNAL_STREAM", "NOTIFY_SOCKET",
	"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES",
	"WATCHDOG_PID", "WATCHDOG_USEC",
	"MANAGERPID", "SYSTEMD_EXEC_PID", "MAINPID",
	"SERVICE_RESULT", "EXIT_CODE", "EXIT_STATUS",
	"MONITOR_SERVICE_RESULT", "MONITOR_EXIT_CODE", "MONITOR_EXIT_STATUS",
	"MONITOR_INVOCATION_ID", "MONITOR_UNIT",
	"RUNTIME_DIRECTORY", "STATE_DIRECTORY", "CACHE_DIRECTORY",
	"LOGS_DIRECTORY", "CONFIGURATION_DIRECTORY", "CREDENTIALS_DIRECTORY",
}

// validEnvName applies systemd's rule for variable names; the manager drops
// any assignment that breaks it.
func validEnvName(name string) bool {
	if name == "" || '0' <= name[0] && name[0] <= '9' {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

const envNameRule = "use A-Z a-z 0-9 _, not starting with a digit"

// envValueProblem says why systemd would not pass value on, or "".
func envValueProblem(value string) string {
	if !utf8.ValidString(value) {
		return "value is not valid UTF-8"
	}
	if strings.IndexByte(value, 0) >= 0 {
		return "value contains a NUL byte"
	}
	if r, ok := nonCharacter(value); ok {
		// systemd refuses the whole environment file: the run fails with
		// result "resources".
		return fmt.Sprintf("value contains %U, a Unicode noncharacter systemd refuses", r)
	}
	return ""
}

// splitEnv splits a KEY=VALUE entry and says what is wrong with it, if
// anything. Problems never quote the value: it may be a secret.
func splitEnv(kv string) (name, value, problem string) {
	name, value, ok := strings.Cut(kv, "=")
	switch {
	case !ok:
		return name, "", "want NAME=VALUE"
	case !validEnvName(name):
		return name, value, fmt.Sprintf("%q is not a valid variable name (%s)", name, envNameRule)
	}
	return name, value, envValueProblem(value)
}

// envError reports a bad entry by its name alone; the value may be a secret.
func envError(kv string) error {
	name, _, problem := splitEnv(kv)
	if problem == "" {
		return nil
	}
	return fmt.Errorf("invalid environment variable %q: %s", name, problem)
}

// CaptureEnv builds the environment a run replays on every start: the
// caller's variables (environ, as from os.Environ) minus droppedEnv, then
// PWD=dir, then the -E NAME=VALUE values in extra, later ones winning. Caller
// variables systemd would reject are left out and their names returned in
// dropped, for a warning. The result is sorted by name, one entry per name.
func CaptureEnv(environ []string, extra []string, dir string) (env []string, dropped []string, err error) {
	vars := make(map[string]string, len(environ)+len(extra)+1)
	bad := make(map[string]bool)
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			bad[kv] = true
			continue
		}
		vars[name] = value
	}
	for _, name := range droppedEnv {
		delete(vars, name)
	}
	for name, value := range vars {
		if !validEnvName(name) || envValueProblem(value) != "" {
			delete(vars, name)
			bad[name] = true
		}
	}

	if dir != "" {
		if envValueProblem(dir) != "" {
			return nil, nil, fmt.Errorf("invalid working directory %q: not valid UTF-8 or contains a NUL byte", dir)
		}
		vars["PWD"] = dir
	}

	for _, kv := range extra {
		name, value, problem := splitEnv(kv)
		if problem != "" {
			shown := kv
			if strings.Contains(kv, "=") {
				shown = name + "=..."
			}
			return nil, nil, fmt.Errorf("invalid -E %q: %s", shown, problem)
		}
		vars[name] = value
		delete(bad, name)
	}

	names := make([]string, 0, len(vars))
	for name := range vars {
		names = append(names, name)
	}
	slices.Sort(names)
	env = make([]string, 0, len(names))
	for _, name := range names {
		env = append(env, name+"="+vars[name])
	}
	for name := range bad {
		dropped = append(dropped, name)
	}
	slices.Sort(dropped)
	return env, dropped, nil
}

// managerPath is the PATH systemd gives a service whose environment sets
// none.
const managerPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// SearchPath is the PATH a run with environment env sees: its own PATH
// entry, or the manager's default.
func SearchPath(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return managerPath
}
