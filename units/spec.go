package units

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Spec is everything needed to start a run again exactly as it was first
// started: restart re-issues StartTransientUnit from it, because systemd
// forgets a transient unit once it stops.
type Spec struct {
	Version     int       `json:"version"` // SpecVersion
	Name        string    `json:"name"`
	Argv        []string  `json:"argv"`            // exactly as typed; Argv[0] as typed
	Path        string    `json:"path"`            // absolute resolved executable for Argv[0]
	Dir         string    `json:"dir"`             // working directory
	Env         []string  `json:"env"`             // KEY=VALUE, the whole environment replayed
	User        string    `json:"user,omitempty"`  // User=, --uid
	Group       string    `json:"group,omitempty"` // Group=, --gid
	StopTimeout Duration  `json:"stop_timeout"`    // SIGTERM→SIGKILL for systemd's own stops
	Created     time.Time `json:"created"`

	// Automatic restart by systemd: Restart= (no, on-failure, always) after
	// RestartDelay, growing to RestartMaxDelay where the manager can
	// (backoff); at most MaxRestarts restarts within Within, then the run
	// stays failed (0: systemd's default limit), or with NoRestartLimit
	// no limit at all.
	Restart         string   `json:"restart,omitempty"`
	RestartDelay    Duration `json:"restart_delay,omitempty"`
	RestartMaxDelay Duration `json:"restart_max_delay,omitempty"`
	MaxRestarts     int      `json:"max_restarts,omitempty"`
	NoRestartLimit  bool     `json:"no_restart_limit,omitempty"`
	Within          Duration `json:"within,omitempty"`

	// Buffered leaves the program's output buffering as it is: without it
	// the unit gets unbufferedEnv (see AddedEnv).
	Buffered bool `json:"buffered,omitempty"`

	// NoLogLimit lifts journald's per-unit rate limit (by default 10,000
	// lines per 30 s, beyond which lines are dropped).
	NoLogLimit bool `json:"no_log_limit,omitempty"`

	// Notify: Type=notify, the start is done once the program sends
	// READY=1. Watchdog: WatchdogSec=, the program must send WATCHDOG=1
	// that often or systemd kills it (and restarts it with Restart=).
	Notify   bool     `json:"notify,omitempty"`
	Watchdog Duration `json:"watchdog,omitempty"`

	// After are runs, or systemd units (IsSystemdUnit), this one starts
	// after and pulls in (After=, Wants=). Wants are pulled in only
	// (Wants=), with no order.
	After []string `json:"after,omitempty"`
	Wants []string `json:"wants,omitempty"`

	// Stack is the stack file (runctl apply) the run belongs to, "" for
	// none. It adds to the spec without changing what any other field
	// means, so the version stays: a runctl that predates it reads the spec
	// as before and only does not know the membership.
	Stack string `json:"stack,omitempty"`

	// Properties are -p KEY=VALUE as typed, in order; Settings says which
	// keys and values are taken.
	Properties []string `json:"properties,omitempty"`
}

// RestartPolicies are the values Restart takes ("" means no).
var RestartPolicies = []string{"no", "on-failure", "always"}

// SpecVersion is bumped when a Spec field changes meaning, so an older runctl
// refuses a spec it would misread.
const SpecVersion = 1

// DefaultStopTimeout gives a program time to shut down cleanly; pm2's fixed
// 1.6 s was a steady source of complaints.
const DefaultStopTimeout = 10 * time.Second

// Duration is a time.Duration stored as "10s" rather than nanoseconds, so a
// spec file stays readable.
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes d as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string such as "10s" or "1m30s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil // as encoding/json does for its own types
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("invalid duration %s: want a string such as \"10s\"", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a string such as \"10s\"", s)
	}
	*d = Duration(v)
	return nil
}

// Encode is the spec as the store keeps it, and the bytes its sum (the
// drop-in's) is taken over.
func (s *Spec) Encode() ([]byte, error) { return json.MarshalIndent(s, "", "  ") }

// Validate checks a spec before it is saved or sent to systemd. Besides the
// obvious, every string that goes over D-Bus must be UTF-8 without NUL, or
// godbus refuses to encode the call.
func (s *Spec) Validate() error {
	if err := ValidateName(s.Name); err != nil {
		return err
	}
	if err := s.validate(); err != nil {
		return fmt.Errorf("invalid spec for run %q: %w", s.Name, err)
	}
	return nil
}

func (s *Spec) validate() error {
	switch {
	case s.Version > SpecVersion:
		return fmt.Errorf("version %d is newer than this runctl understands (%d)", s.Version, SpecVersion)
	case s.Version != SpecVersion:
		return fmt.Errorf("unknown version %d (want %d)", s.Version, SpecVersion)
	case len(s.Argv) == 0:
		return errors.New("no command")
	case !filepath.IsAbs(s.Path):
		return fmt.Errorf("executable path %q is not absolute", s.Path)
	case !filepath.IsAbs(s.Dir):
		return fmt.Errorf("working directory %q is not absolute", s.Dir)
	case s.StopTimeout < Duration(time.Microsecond):
		// systemd counts in microseconds and reads 0 as no timeout at all.
		return fmt.Errorf("stop timeout %s is below 1us, which systemd would read as no timeout at all", s.StopTimeout)
	case s.Restart != "" && !slices.Contains(RestartPolicies, s.Restart):
		return fmt.Errorf("restart policy %q is not one of %s", s.Restart, strings.Join(RestartPolicies, ", "))
	case s.RestartDelay < 0 || s.Within < 0 || s.MaxRestarts < 0 || s.RestartMaxDelay < 0:
		return errors.New("restart delay, limit and interval must not be negative")
	case s.NoRestartLimit && s.MaxRestarts > 0:
		return errors.New("a restart limit and no restart limit at once")
	case s.RestartMaxDelay > 0 && s.RestartMaxDelay < s.RestartDelay:
		return fmt.Errorf("the longest restart delay %s is below the first one %s", s.RestartMaxDelay, s.RestartDelay)
	case s.RestartMaxDelay > 0 && s.RestartDelay < Duration(time.Microsecond):
		// The delay grows by a factor: from 0 it would stay 0.
		return errors.New("a growing restart delay needs a first delay of at least 1us")
	case s.Watchdog < 0 || s.Watchdog > 0 && time.Duration(s.Watchdog)%time.Millisecond != 0:
		return errors.New("the watchdog interval must be whole milliseconds (systemd keeps no finer across a reload)")
	case s.MaxRestarts > 0 && s.Within <= 0:
		return errors.New("a restart limit needs the interval it counts in (--within)")
	case s.MaxRestarts > 0 && s.Within < Duration(time.Microsecond):
		// StartLimitIntervalUSec=0 means no limit at all.
		return fmt.Errorf("restart interval %s is below 1us, which systemd would read as no limit at all", s.Within)
	case s.MaxRestarts >= math.MaxUint32:
		// StartLimitBurst is a uint32 counting the first start too.
		return fmt.Errorf("at most %d restarts can be counted, not %d", uint32(math.MaxUint32-1), s.MaxRestarts)
	}
	if err := CheckProperties(s.Properties); err != nil {
		return err
	}
	for _, a := range s.After {
		if err := validateDep("--after", a); err != nil {
			return err
		}
	}
	for _, a := range s.Wants {
		if err := validateDep("--wants", a); err != nil {
			return err
		}
	}
	if s.Stack != "" {
		if err := ValidateName(s.Stack); err != nil {
			return fmt.Errorf("stack: %w", err)
		}
	}
	for i, a := range s.Argv {
		if !busString(a) {
			return fmt.Errorf("argument %d is not valid UTF-8 or contains a NUL byte", i)
		}
	}
	for _, f := range [...]struct{ what, v string }{
		{"executable path", s.Path},
		{"working directory", s.Dir},
		{"user", s.User},
		{"group", s.Group},
	} {
		if !busString(f.v) {
			return fmt.Errorf("%s %q is not valid UTF-8 or contains a NUL byte", f.what, f.v)
		}
	}
	seen := make(map[string]bool, len(s.Env))
	for _, kv := range s.Env {
		if err := envError(kv); err != nil {
			return err
		}
		name, _, _ := strings.Cut(kv, "=")
		if seen[name] {
			return fmt.Errorf("environment variable %q is set twice", name)
		}
		seen[name] = true
	}
	return nil
}

// serviceType is the unit's Type=: exec (the start is done once the
// program was executed) or notify (once it sent READY=1).
func (s *Spec) serviceType() string {
	if s.Notify {
		return "notify"
	}
	return "exec"
}

// notifyAccess is who in the run may send READY=1 and WATCHDOG=1: all its
// processes, since a node is often started through a shell or launcher
// that forks it ("" without --notify or --watchdog: systemd's default,
// none).
func (s *Spec) notifyAccess() string {
	if s.Notify || s.Watchdog > 0 {
		return "all"
	}
	return ""
}

// AfterCycle finds whether starting s after its After runs closes a cycle,
// following the After lists that after returns for each run; it names the
// cycle if so.
func AfterCycle(s *Spec, after func(name string) []string) error {
	var path []string
	onPath := map[string]bool{}
	done := map[string]bool{}
	var visit func(name string, next []string) error
	visit = func(name string, next []string) error {
		if onPath[name] {
			i := slices.Index(path, name)
			return fmt.Errorf("--after would make a cycle: %s", strings.Join(append(path[i:], name), " after "))
		}
		if done[name] {
			return nil
		}
		onPath[name] = true
		path = append(path, name)
		for _, n := range next {
			if IsSystemdUnit(n) {
				continue // no run: it orders nothing of runctl's
			}
			if err := visit(n, after(n)); err != nil {
				return err
			}
		}
		path = path[:len(path)-1]
		onPath[name] = false
		done[name] = true
		return nil
	}
	return visit(s.Name, s.After)
}

// StopAfter is how long a stop waits before SIGKILL: -p TimeoutStopSec if
// given, else the stop timeout.
func (s *Spec) StopAfter() time.Duration {
	if v, ok := property(s.Properties, "TimeoutStopSec"); ok {
		usec, _ := parseTimespan(v) // checked by Validate
		return time.Duration(min(usec, math.MaxInt64/1000)) * time.Microsecond
	}
	return time.Duration(s.StopTimeout)
}

// StopSignal is the signal a stop sends first: -p KillSignal (or
// --stop-signal) if given, else SIGTERM.
func (s *Spec) StopSignal() unix.Signal {
	if v, ok := property(s.Properties, "KillSignal"); ok {
		sig, _ := ParseSignal(v) // checked by Validate
		return sig
	}
	return unix.SIGTERM
}

func busString(s string) bool {
	return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// Description is the unit's Description: "runctl run NAME: COMMAND LINE",
// with " (restart POLICY)" after NAME for a run systemd restarts by itself.
// ls reads it instead of the spec, and asks for the restart count only of
// the runs that can have one.
func (s *Spec) Description() string {
	if s.Restarts() {
		return "runctl run " + s.Name + " (restart " + s.Restart + "): " + s.CommandLine()
	}
	return "runctl run " + s.Name + ": " + s.CommandLine()
}

// Restarts says whether systemd restarts the run by itself.
func (s *Spec) Restarts() bool { return s.Restart != "" && s.Restart != "no" }

// ParseDescription reads a Description that Description wrote for the run
// name: its command line and whether systemd restarts it by itself.
func ParseDescription(name, desc string) (commandLine string, restarts, ok bool) {
	rest, ok := strings.CutPrefix(desc, "runctl run "+name)
	if !ok {
		return "", false, false
	}
	if cl, ok := strings.CutPrefix(rest, ": "); ok {
		return cl, false, true
	}
	for _, p := range RestartPolicies {
		if cl, ok := strings.CutPrefix(rest, " (restart "+p+"): "); ok {
			return cl, p != "no", true
		}
	}
	return "", false, false
}

// CommandLine shows Argv as one line a shell would read back as the same
// argv, for the unit's Description and for `runctl ls`. Plain words stay
// bare, others get single quotes, and anything unprintable uses bash's $'...'
// so the line never breaks.
func (s *Spec) CommandLine() string {
	var b strings.Builder
	for i, a := range s.Argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(shellQuote(a, i == 0))
	}
	return b.String()
}

func shellQuote(s string, first bool) string {
	if s == "" {
		return "''"
	}
	bare := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			bare = false
			continue
		}
		if c < ' ' || c == 0x7f {
			return ansiQuote(s)
		}
		// "=" in the first word would make it an assignment.
		if !(isAlnum(c) || strings.IndexByte("_@%+:,./-", c) >= 0 || c == '=' && !first) {
			bare = false
		}
	}
	if bare {
		return s
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' {
			return ansiQuote(s) // also catches invalid UTF-8
		}
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ansiQuote writes s as bash's $'...', escaping everything unprintable.
func ansiQuote(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\' || r == '\'':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < ' ' || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	b.WriteByte('\'')
	return b.String()
}

// ResolveExecutable finds argv0 the way a shell would, but with the caller's
// PATH and directory passed in: the manager would otherwise search its own
// fixed PATH from its own directory. Relative PATH entries are skipped, as
// systemd does, so a run never depends on the directory it was started from.
func ResolveExecutable(argv0 string, pathEnv string, cwd string) (string, error) {
	if argv0 == "" {
		return "", errors.New("command name is empty")
	}
	if strings.Contains(argv0, "/") {
		p := argv0
		if !filepath.IsAbs(p) {
			if !filepath.IsAbs(cwd) {
				return "", fmt.Errorf("working directory %q is not absolute", cwd)
			}
			p = filepath.Join(cwd, p)
		}
		p = filepath.Clean(p)
		if err := checkExecutable(p); err != nil {
			return "", err
		}
		return p, nil
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, argv0)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", errors.New("not found in PATH")
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%q does not exist", p)
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("%q: %w", p, err)
	case fi.IsDir():
		return fmt.Errorf("%q is a directory", p)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%q is not a regular file", p)
	case fi.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%q is not executable", p)
	}
	return nil
}
