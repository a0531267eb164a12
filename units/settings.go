package units

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	sdbus "github.com/coreos/go-systemd/v22/dbus"
	"golang.org/x/sys/unix"
)

// Setting is one unit file setting `runctl run -p KEY=VALUE` accepts. The
// table Settings is the one home of what -p takes: it parses the value,
// converts it to the D-Bus properties of a transient unit (as systemd-run
// -p sends them), and names it for the docs and completions. The unit file
// of an enabled run gets the line KEY=VALUE exactly as typed; the sandbox
// tests prove that both give systemd the same value.
//
// The value syntax is a strict subset of systemd's: what runctl cannot
// convert exactly is refused before anything is created, never guessed.
type Setting struct {
	Key    string   // the unit file name, as -p takes it
	Syntax string   // the accepted values, for the docs ("": Values)
	Help   string   // what it does, for the docs
	Values []string // the complete set of values, if it is small
	Repeat bool     // may be given more than once; each adds, as in a unit file

	// bus converts a value to the D-Bus properties systemd-run -p sends.
	bus func(v string) ([]sdbus.Property, error)
}

// Settings are the properties -p accepts, grouped as systemd.resource-control(5),
// systemd.exec(5) and systemd.kill(5)/systemd.service(5) list them.
var Settings = []Setting{
	{Key: "MemoryMax", Syntax: "BYTES|infinity", Help: "Hard memory limit of the run's processes; above it the kernel's OOM killer ends them.", bus: bytesOrInfinity("MemoryMax")},
	{Key: "MemoryHigh", Syntax: "BYTES|infinity", Help: "Memory use above which the run's processes are throttled and reclaimed hard.", bus: bytesOrInfinity("MemoryHigh")},
	{Key: "CPUQuota", Syntax: "N%", Help: "CPU time the run may use per wall-clock time (200% is two CPUs).", bus: cpuQuota},
	{Key: "CPUWeight", Syntax: "1-10000", Help: "Share of CPU time under contention (systemd's default 100).", bus: uintIn("CPUWeight", 1, 10000)},
	{Key: "AllowedCPUs", Syntax: "CPU[-CPU]...", Help: "CPUs the run's cgroup may use (cpuset controller).", bus: cpuSet("AllowedCPUs")},
	{Key: "TasksMax", Syntax: "N|infinity", Help: "Most processes and threads the run may have.", bus: countOrInfinity("TasksMax")},
	{Key: "IOWeight", Syntax: "1-10000", Help: "Share of block I/O under contention (systemd's default 100).", bus: uintIn("IOWeight", 1, 10000)},

	{Key: "Nice", Syntax: "-20..19", Help: "Scheduling niceness of the program.", bus: intIn("Nice", -20, 19)},
	{Key: "CPUAffinity", Syntax: "CPU[-CPU]...", Help: "CPUs the program's threads may run on (sched_setaffinity).", bus: cpuSet("CPUAffinity")},
	{Key: "CPUSchedulingPolicy", Help: "Scheduling policy; fifo and rr are real-time.", Values: schedPolicies.names(), bus: named("CPUSchedulingPolicy", schedPolicies)},
	{Key: "CPUSchedulingPriority", Syntax: "0-99", Help: "Real-time priority for fifo and rr.", bus: intIn("CPUSchedulingPriority", 0, 99)},
	{Key: "CPUSchedulingResetOnFork", Help: "Children do not inherit a real-time policy or negative niceness.", Values: []string{"yes", "no"}, bus: boolean("CPUSchedulingResetOnFork")},
	{Key: "IOSchedulingClass", Help: "I/O scheduling class.", Values: ioClasses.names(), bus: named("IOSchedulingClass", ioClasses)},
	{Key: "IOSchedulingPriority", Syntax: "0-7", Help: "I/O priority within the class (0 is highest).", bus: intIn("IOSchedulingPriority", 0, 7)},
	{Key: "LimitNOFILE", Syntax: "N[:N]|infinity", Help: "Open files (RLIMIT_NOFILE), soft:hard or both.", bus: rlimit("LimitNOFILE", false)},
	{Key: "LimitCORE", Syntax: "BYTES[:BYTES]|infinity", Help: "Core dump size (RLIMIT_CORE), soft:hard or both.", bus: rlimit("LimitCORE", true)},
	{Key: "LimitRTPRIO", Syntax: "N[:N]|infinity", Help: "Highest real-time priority the program may set itself (RLIMIT_RTPRIO).", bus: rlimit("LimitRTPRIO", false)},
	{Key: "LimitMEMLOCK", Syntax: "BYTES[:BYTES]|infinity", Help: "Locked memory (RLIMIT_MEMLOCK), soft:hard or both.", bus: rlimit("LimitMEMLOCK", true)},
	{Key: "UMask", Syntax: "OCTAL", Help: "File mode creation mask (systemd's default 0022).", bus: umask},
	{Key: "OOMScoreAdjust", Syntax: "-1000..1000", Help: "How readily the OOM killer picks the program.", bus: intIn("OOMScoreAdjust", -1000, 1000)},
	{Key: "SupplementaryGroups", Syntax: "GROUP...", Help: "Extra groups of the program (with --uid), separated by spaces.", bus: groups},
	{Key: "DeviceAllow", Syntax: "DEVICE [rwm]", Help: "Device node the run may access (/dev/PATH, char-NAME or block-NAME; with read, write, mknod); repeatable.", Repeat: true, bus: deviceAllow},

	{Key: "KillSignal", Syntax: "SIGNAL", Help: "Signal a stop sends first (same as --stop-signal).", Values: StopSignals, bus: signal("KillSignal")},
	{Key: "TimeoutStopSec", Syntax: "TIMESPAN", Help: "How long a stop waits before SIGKILL (same as --stop-timeout; -p wins).", bus: timespan("TimeoutStopUSec", false)},
	{Key: "TimeoutStartSec", Syntax: "TIMESPAN|infinity", Help: "How long a start may take before it fails (with --notify: until READY=1).", bus: timespan("TimeoutStartUSec", true)},
}

// ownedKeys are settings runctl sets itself, each with where it comes from.
var ownedKeys = map[string]string{
	"ExecStart":               "the command after --",
	"ExecStartPre":            "the command after --",
	"ExecStartPost":           "the command after --",
	"ExecStop":                "the command after --",
	"ExecStopPost":            "the command after --",
	"ExecReload":              "the command after --",
	"ExecCondition":           "the command after --",
	"Environment":             "-E K=V or the caller's environment",
	"EnvironmentFile":         "-E K=V or the caller's environment",
	"PassEnvironment":         "-E K=V or the caller's environment",
	"UnsetEnvironment":        "-E K=V or the caller's environment",
	"WorkingDirectory":        "--dir",
	"RootDirectory":           "--dir",
	"Type":                    "--notify",
	"NotifyAccess":            "--notify",
	"RemainAfterExit":         "the command after --",
	"User":                    "--uid",
	"Group":                   "--gid",
	"DynamicUser":             "--uid",
	"Restart":                 "--restart",
	"RestartSec":              "--restart-delay",
	"RestartSteps":            "--restart-max-delay",
	"RestartMaxDelaySec":      "--restart-max-delay",
	"StartLimitBurst":         "--max-restarts",
	"StartLimitIntervalSec":   "--within",
	"WatchdogSec":             "--watchdog",
	"After":                   "--after",
	"Wants":                   "--after",
	"Requires":                "--after",
	"Before":                  "--after",
	"StandardInput":           "-i",
	"StandardOutput":          "runctl (the journal)",
	"StandardError":           "runctl (the journal)",
	"SyslogIdentifier":        "-n NAME",
	"LogRateLimitIntervalSec": "--no-log-limit",
	"LogRateLimitBurst":       "--no-log-limit",
	"KillMode":                "runctl (the whole cgroup is stopped)",
	"SendSIGKILL":             "runctl (SIGKILL after the stop timeout)",
	"Description":             "runctl (the command line)",
	"TimeoutSec":              "TimeoutStartSec and TimeoutStopSec",
}

// settingKey finds the table entry for key, or says in one line why -p does
// not take it.
func settingKey(key string) (*Setting, error) {
	for i := range Settings {
		if Settings[i].Key == key {
			return &Settings[i], nil
		}
	}
	if from, ok := ownedKeys[key]; ok {
		return nil, fmt.Errorf("%s is set by runctl, not -p: it comes from %s", key, from)
	}
	for _, s := range Settings {
		if strings.EqualFold(s.Key, key) {
			return nil, fmt.Errorf("unknown property %q: did you mean %s? (names are case-sensitive)", key, s.Key)
		}
	}
	return nil, fmt.Errorf("unknown property %q: -p takes %s", key, settingKeys())
}

// PropertyCompletions are what the shell completions offer for -p: KEY=
// for each setting, and KEY=VALUE for those with a small set of values.
func PropertyCompletions() []string {
	var out []string
	for _, s := range Settings {
		if len(s.Values) == 0 {
			out = append(out, s.Key+"=")
		}
		for _, v := range s.Values {
			out = append(out, s.Key+"="+v)
		}
	}
	return out
}

// ValueSyntax is what the docs say a setting takes.
func (s Setting) ValueSyntax() string {
	if s.Syntax == "" {
		return strings.Join(s.Values, "|")
	}
	return s.Syntax
}

func settingKeys() string {
	keys := make([]string, len(Settings))
	for i, s := range Settings {
		keys[i] = s.Key
	}
	return strings.Join(keys, ", ")
}

// parseProperty checks kv and converts it to D-Bus properties.
func parseProperty(kv string) (string, []sdbus.Property, error) {
	key, v, ok := strings.Cut(kv, "=")
	if !ok || key == "" {
		return "", nil, fmt.Errorf("invalid property %q: write KEY=VALUE, as in a unit file (MemoryMax=1G)", kv)
	}
	s, err := settingKey(key)
	if err != nil {
		return key, nil, err
	}
	// The value goes into a unit file as typed: nothing in it may mean
	// something else there (quotes, escapes, line breaks, edge spaces). A %
	// is taken by the parsers only where systemd reads it literally
	// (CPUQuota), never where it expands specifiers.
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' || c > '~' || strings.IndexByte(`\"'`, c) >= 0 {
			return key, nil, fmt.Errorf("invalid %s=%q: %q is not allowed in a value (want %s)", key, v, c, s.ValueSyntax())
		}
	}
	if v == "" || v != strings.TrimSpace(v) {
		return key, nil, fmt.Errorf("invalid %s=%q: want %s, without surrounding spaces", key, v, s.ValueSyntax())
	}
	props, err := s.bus(v)
	if err != nil {
		return key, nil, fmt.Errorf("invalid %s=%s: %w", key, v, err)
	}
	return key, props, nil
}

// CheckProperties checks a run's -p list: each valid, none given twice
// unless its setting adds up.
func CheckProperties(kvs []string) error {
	seen := map[string]bool{}
	for _, kv := range kvs {
		key, _, err := parseProperty(kv)
		if err != nil {
			return err
		}
		s, _ := settingKey(key)
		if seen[key] && !s.Repeat {
			return fmt.Errorf("%s is given twice: give each property once", key)
		}
		seen[key] = true
	}
	// sched_setscheduler(2) takes priorities 1-99 for fifo and rr, 0 for
	// the others; systemd would only fail the start (status 214).
	if prio, ok := property(kvs, "CPUSchedulingPriority"); ok {
		policy, _ := property(kvs, "CPUSchedulingPolicy")
		rt := policy == "fifo" || policy == "rr"
		switch {
		case rt && prio == "0":
			return fmt.Errorf("CPUSchedulingPriority=0 is not valid with CPUSchedulingPolicy=%s: give 1-99", policy)
		case !rt && prio != "0":
			return errors.New("CPUSchedulingPriority above 0 needs CPUSchedulingPolicy=fifo or rr")
		}
	}
	return nil
}

// propertyBus converts a checked -p list to D-Bus properties, in order.
func propertyBus(kvs []string) []sdbus.Property {
	var out []sdbus.Property
	for _, kv := range kvs {
		_, props, _ := parseProperty(kv) // checked by Validate
		out = append(out, props...)
	}
	return out
}

// property finds the value of key in kvs.
func property(kvs []string, key string) (string, bool) {
	for _, kv := range kvs {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v, true
		}
	}
	return "", false
}

// The value parsers. Each accepts a strict subset of systemd's syntax for
// the setting and returns what systemd-run -p sends for it.

// parseBytes reads N with an optional K, M, G, T, P or E suffix (powers of
// 1024, as systemd's parse_size with base 1024).
func parseBytes(v string) (uint64, error) {
	mult := uint64(1)
	if i := strings.IndexByte("KMGTPE", v[len(v)-1]); i >= 0 {
		mult = 1 << (10 * (i + 1))
		v = v[:len(v)-1]
	}
	n, err := parseDigits(v)
	if err != nil {
		return 0, errors.New("want a number of bytes with an optional K, M, G, T, P or E suffix (1024-based)")
	}
	hi, lo := bits.Mul64(n, mult)
	if hi != 0 || lo == math.MaxUint64 {
		return 0, errors.New("too large")
	}
	return lo, nil
}

// parseDigits reads a plain decimal number (no sign, no spaces).
func parseDigits(v string) (uint64, error) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, errors.New("not a number")
	}
	return strconv.ParseUint(v, 10, 64)
}

func bytesOrInfinity(name string) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		if v == "infinity" {
			return []sdbus.Property{prop(name, uint64(math.MaxUint64))}, nil
		}
		if strings.HasSuffix(v, "%") {
			return nil, errors.New("runctl takes bytes, not a percentage of memory (1G, 512M)")
		}
		n, err := parseBytes(v)
		if err != nil {
			return nil, err
		}
		return []sdbus.Property{prop(name, n)}, nil
	}
}

func countOrInfinity(name string) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		if v == "infinity" {
			return []sdbus.Property{prop(name, uint64(math.MaxUint64))}, nil
		}
		n, err := parseDigits(v)
		if err != nil || n == 0 || n == math.MaxUint64 {
			return nil, errors.New("want a positive number or infinity")
		}
		return []sdbus.Property{prop(name, n)}, nil
	}
}

func uintIn(name string, lo, hi uint64) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		n, err := parseDigits(v)
		if err != nil || n < lo || n > hi {
			return nil, fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return []sdbus.Property{prop(name, n)}, nil
	}
}

func intIn(name string, lo, hi int32) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		digits := strings.TrimPrefix(strings.TrimPrefix(v, "-"), "+")
		n, err := parseDigits(digits)
		if err != nil || n > 1<<31 {
			return nil, fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		i := int64(n)
		if v[0] == '-' {
			i = -i
		}
		if i < int64(lo) || i > int64(hi) {
			return nil, fmt.Errorf("want a whole number from %d to %d", lo, hi)
		}
		return []sdbus.Property{prop(name, int32(i))}, nil
	}
}

// cpuQuota reads N% and sends CPUQuotaPerSecUSec, as systemd-run does.
// Measured: systemd 252 records a transient unit's quota in whole percents
// (12.5% comes back as 12% after a daemon-reload), so only those are taken.
func cpuQuota(v string) ([]sdbus.Property, error) {
	num, ok := strings.CutSuffix(v, "%")
	n, err := parseDigits(num)
	if !ok || err != nil || n == 0 || n > 1<<32 {
		return nil, errors.New("want a whole positive percentage, such as 50% or 150%")
	}
	return []sdbus.Property{prop("CPUQuotaPerSecUSec", n*uint64(time.Second/time.Microsecond)/100)}, nil
}

// maxCPU bounds CPU numbers as systemd's parse_cpu_set does (8192 CPUs).
const maxCPU = 8191

// cpuSet reads CPU numbers and ranges (0 2-3, or 0,2-3) and sends them as
// the bit mask systemd's D-Bus API takes (ay, CPU n is bit n%8 of byte n/8).
func cpuSet(name string) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		var mask []byte
		for _, word := range strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' }) {
			a, b, isRange := strings.Cut(word, "-")
			lo, err1 := parseDigits(a)
			hi, err2 := lo, error(nil)
			if isRange {
				hi, err2 = parseDigits(b)
			}
			if err1 != nil || err2 != nil || hi < lo || hi > maxCPU {
				return nil, fmt.Errorf("%q is not a CPU number or range (0-%d), such as 2 or 0-3", word, maxCPU)
			}
			for c := lo; c <= hi; c++ {
				for uint64(len(mask)) <= c/8 {
					mask = append(mask, 0)
				}
				mask[c/8] |= 1 << (c % 8)
			}
		}
		if mask == nil {
			return nil, errors.New("want CPU numbers or ranges, such as 2 or 0-3")
		}
		return []sdbus.Property{prop(name, mask)}, nil
	}
}

// nameTable maps systemd's names for an enumeration to its D-Bus numbers.
type nameTable []struct {
	name string
	n    int32
}

func (t nameTable) names() []string {
	out := make([]string, len(t))
	for i, e := range t {
		out[i] = e.name
	}
	return out
}

// schedPolicies are sched(7)'s policies: SCHED_OTHER 0, FIFO 1, RR 2, BATCH 3, IDLE 5.
var schedPolicies = nameTable{{"other", 0}, {"batch", 3}, {"idle", 5}, {"fifo", 1}, {"rr", 2}}

// ioClasses are ioprio(2)'s classes, as systemd numbers them.
var ioClasses = nameTable{{"realtime", 1}, {"best-effort", 2}, {"idle", 3}}

func named(name string, t nameTable) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		for _, e := range t {
			if e.name == v {
				return []sdbus.Property{prop(name, e.n)}, nil
			}
		}
		return nil, fmt.Errorf("want one of %s", strings.Join(t.names(), ", "))
	}
}

func boolean(name string) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		switch strings.ToLower(v) {
		case "1", "yes", "y", "true", "t", "on":
			return []sdbus.Property{prop(name, true)}, nil
		case "0", "no", "n", "false", "f", "off":
			return []sdbus.Property{prop(name, false)}, nil
		}
		return nil, errors.New("want yes or no")
	}
}

// rlimit reads SOFT:HARD or one value for both, each a number (bytes with
// an optional suffix if sized) or infinity, and sends LimitX (hard) and
// LimitXSoft, as systemd-run does.
func rlimit(name string, sized bool) func(string) ([]sdbus.Property, error) {
	one := func(v string) (uint64, error) {
		if v == "infinity" {
			return math.MaxUint64, nil // RLIM_INFINITY
		}
		if sized {
			return parseBytes(v)
		}
		n, err := parseDigits(v)
		if err != nil || n == math.MaxUint64 {
			return 0, errors.New("want a number or infinity")
		}
		return n, nil
	}
	return func(v string) ([]sdbus.Property, error) {
		s, h, pair := strings.Cut(v, ":")
		soft, err := one(s)
		if err != nil {
			return nil, err
		}
		hard := soft
		if pair {
			if hard, err = one(h); err != nil {
				return nil, err
			}
		}
		if soft > hard {
			return nil, errors.New("the soft limit is above the hard limit")
		}
		return []sdbus.Property{prop(name, hard), prop(name+"Soft", soft)}, nil
	}
}

func umask(v string) ([]sdbus.Property, error) {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o7777 || strings.Trim(v, "01234567") != "" {
		return nil, errors.New("want an octal mode such as 0027")
	}
	return []sdbus.Property{prop("UMask", uint32(n))}, nil
}

// validGroupName is systemd's relaxed user and group name rule, narrowed to
// what needs no escaping: letters, digits, _ . - and not starting with - or
// a dot.
func validGroupName(g string) bool {
	if g == "" || len(g) > 256 || g[0] == '-' || g[0] == '.' {
		return false
	}
	return strings.Trim(g, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == ""
}

func groups(v string) ([]sdbus.Property, error) {
	gs := strings.Fields(v)
	for _, g := range gs {
		if !validGroupName(g) {
			return nil, fmt.Errorf("%q is not a group name", g)
		}
	}
	return []sdbus.Property{prop("SupplementaryGroups", gs)}, nil
}

// SupplementaryGroups lists the groups kvs adds, for the caller to check
// they exist.
func SupplementaryGroups(kvs []string) []string {
	var out []string
	for _, kv := range kvs {
		if k, v, _ := strings.Cut(kv, "="); k == "SupplementaryGroups" {
			out = append(out, strings.Fields(v)...)
		}
	}
	return out
}

// deviceAllow reads "DEVICE [rwm]" and sends DeviceAllow a(ss).
func deviceAllow(v string) ([]sdbus.Property, error) {
	dev, mode, _ := strings.Cut(v, " ")
	mode = strings.TrimLeft(mode, " ")
	switch {
	case strings.Trim(dev, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_.:+-") != "":
		return nil, fmt.Errorf("%q is not a device: want /dev/PATH, char-NAME or block-NAME, of letters, digits and / _ . : + -", dev)
	case strings.HasPrefix(dev, "char-") && len(dev) > 5, strings.HasPrefix(dev, "block-") && len(dev) > 6:
	case strings.HasPrefix(dev, "/dev/") && len(dev) > 5 && pathProblem(dev, false) == nil:
	default:
		return nil, fmt.Errorf("%q is not a device: want /dev/PATH, char-NAME or block-NAME", dev)
	}
	if strings.Trim(mode, "rwm") != "" {
		return nil, fmt.Errorf("access %q is not made of r, w and m", mode)
	}
	return []sdbus.Property{prop("DeviceAllow", []struct{ Path, Mode string }{{dev, mode}})}, nil
}

// StopSignals are the signals a stop is usually meant to send, offered by
// the completions; any signal name or number 1-64 is accepted.
var StopSignals = []string{"SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGKILL"}

// ParseSignal reads SIGINT, INT or a number 1-64, as systemd's
// signal_from_string (without RTMIN+N).
func ParseSignal(v string) (unix.Signal, error) {
	if n, err := parseDigits(v); err == nil {
		if n >= 1 && n <= 64 {
			return unix.Signal(n), nil
		}
	} else if sig := unix.SignalNum("SIG" + strings.TrimPrefix(v, "SIG")); sig != 0 && v == strings.ToUpper(v) {
		return sig, nil
	}
	return 0, fmt.Errorf("%q is not a signal: want a name such as SIGINT or INT, or a number 1-64", v)
}

func signal(name string) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		sig, err := ParseSignal(v)
		if err != nil {
			return nil, err
		}
		return []sdbus.Property{prop(name, int32(sig))}, nil
	}
}

// timeUnits are systemd's time span units (parse_time), those of a month
// and a year left out.
var timeUnits = []struct {
	names []string
	usec  uint64
}{
	{[]string{"us", "usec"}, 1},
	{[]string{"ms", "msec"}, 1e3},
	{[]string{"s", "sec", "second", "seconds"}, 1e6},
	{[]string{"m", "min", "minute", "minutes"}, 60e6},
	{[]string{"h", "hr", "hour", "hours"}, 3600e6},
	{[]string{"d", "day", "days"}, 86400e6},
	{[]string{"w", "week", "weeks"}, 7 * 86400e6},
}

// parseTimespan reads a systemd time span: a plain number of seconds, or
// numbers with units (1min 30s, 1.5s, 500ms), in microseconds.
func parseTimespan(v string) (uint64, error) {
	bad := fmt.Errorf("%q is not a time span: want seconds, or numbers with units such as 1min 30s, 1.5s or 500ms", v)
	outOfRange := fmt.Errorf("%q is out of systemd's range for a time span (below 584,542 years; \"infinity\" where that is allowed)", v)
	if n, err := parseDigits(v); err == nil {
		if n >= math.MaxUint64/1_000_000 {
			return 0, outOfRange
		}
		return n * 1e6, nil
	}
	var total uint64
	rest := v
	for rest != "" {
		i := strings.IndexFunc(rest, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		if i <= 0 {
			return 0, bad
		}
		num := rest[:i]
		rest = strings.TrimLeft(rest[i:], " ")
		j := strings.IndexFunc(rest, func(r rune) bool { return r < 'a' || r > 'z' })
		if j < 0 {
			j = len(rest)
		}
		unit := rest[:j]
		rest = strings.TrimLeft(rest[j:], " ")
		k := slices.IndexFunc(timeUnits, func(u struct {
			names []string
			usec  uint64
		}) bool {
			return slices.Contains(u.names, unit)
		})
		if k < 0 {
			return 0, bad
		}
		mult := timeUnits[k].usec
		whole, frac, dot := strings.Cut(num, ".")
		w, err := parseDigits(whole)
		if errors.Is(err, strconv.ErrRange) {
			return 0, outOfRange
		}
		if err != nil || dot && frac == "" {
			return 0, bad
		}
		// systemd's parse_time: the whole part is a signed 64-bit number
		// below USEC_INFINITY/unit, and every addition keeps the sum below
		// USEC_INFINITY (which means infinity).
		if w > math.MaxInt64 || w >= math.MaxUint64/mult || w*mult >= math.MaxUint64-total {
			return 0, outOfRange
		}
		total += w * mult
		// Each decimal digit adds its share of the unit, truncated.
		share := mult / 10
		for _, d := range frac {
			if d < '0' || d > '9' {
				return 0, bad
			}
			k := uint64(d-'0') * share
			if k >= math.MaxUint64-total {
				return 0, outOfRange
			}
			total += k
			share /= 10
		}
	}
	return total, nil
}

func timespan(name string, infinite bool) func(string) ([]sdbus.Property, error) {
	return func(v string) ([]sdbus.Property, error) {
		if v == "infinity" && infinite {
			return []sdbus.Property{prop(name, uint64(math.MaxUint64))}, nil
		}
		usec, err := parseTimespan(v)
		if err != nil {
			return nil, err
		}
		if usec == 0 && !infinite {
			return nil, errors.New("runctl needs a stop timeout above 0 to escalate to SIGKILL")
		}
		if usec%1000 != 0 {
			// Measured: systemd 252 records a transient unit's time spans
			// to the millisecond, and a daemon-reload reads that back.
			return nil, errors.New("give whole milliseconds: systemd keeps no finer time spans across a daemon-reload")
		}
		if usec == 0 {
			usec = math.MaxUint64 // a unit file reads 0 as infinity; D-Bus would keep 0
		}
		return []sdbus.Property{prop(name, usec)}, nil
	}
}
