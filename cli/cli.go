// Package cli is runctl's command line: one file per verb, each a kong
// command that parses, calls the run lifecycle (package runs) and prints.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// Globals are the flags every verb takes.
type Globals struct {
	User     bool   `help:"Use your own user manager (default for non-root users)." xor:"scope"`
	System   bool   `help:"Use the system manager (default for root)." xor:"scope"`
	JSON     bool   `help:"Print machine-readable JSON instead of text; a failure prints {\"error\": ...}."`
	LogLevel string `help:"Diagnostics on stderr: debug, info, warn, error." default:"warn" enum:"debug,info,warn,error"`
	FleetFlags
}

// CLI is the root of the command line.
type CLI struct {
	Globals

	Run           RunCmd           `cmd:"" help:"Run a program as a systemd unit, attached or with -d in the background. With -H, nothing local is captured: the run gets only -E and --dir (default: the remote user's home)."`
	Ls            LsCmd            `cmd:"" aliases:"list,ps" help:"List runs."`
	Stop          StopCmd          `cmd:"" help:"Stop runs: SIGTERM, then SIGKILL after the timeout."`
	Restart       RestartCmd       `cmd:"" help:"Stop a run, wait until it is gone, start it again exactly as it was."`
	Start         StartCmd         `cmd:"" help:"Start a stopped run again from its kept spec."`
	Rm            RmCmd            `cmd:"" help:"Forget stopped runs."`
	Enable        EnableCmd        `cmd:"" help:"Start runs at boot: write each as a unit file and enable it."`
	Disable       DisableCmd       `cmd:"" help:"No longer start runs at boot; remove the unit files runctl wrote."`
	Status        StatusCmd        `cmd:"" help:"Show runs in detail: state, processes, resources, last log lines."`
	Logs          LogsCmd          `cmd:"" help:"Show a run's output from the journal."`
	Apply         ApplyCmd         `cmd:"" help:"Bring the runs of a stack file to the file's state: start new runs, replace changed ones in the order their after gives, leave unchanged ones untouched; with --prune, stop and forget the stack's runs that left the file."`
	Export        ExportCmd        `cmd:"" help:"Write runs as a stack file that apply brings back exactly."`
	ServeSSH      ServeSSHCmd      `cmd:"" name:"serve-ssh" help:"Run the runctl command in SSH_ORIGINAL_COMMAND if this key grants it, and nothing else: the forced command of a key restricted to runctl (command=\"runctl serve-ssh [--allow GRANT] [--allow-program PATH]\" in authorized_keys). By default: ls, status, logs, stop, start, restart of existing runs."`
	ServeOperator ServeOperatorCmd `cmd:"" name:"serve-operator" help:"Answer one request of a runctl group member on the connection runctl.operator.socket passes: stop, start or restart of the system manager's runs, run as root with runctl's own checks; not for interactive use. Members' runctl goes through it by itself."`
	Version       kong.VersionFlag `help:"Print the version and exit."`
}

// Scope is the manager the user asked for, or the default for who they are.
func (g *Globals) Scope() systemdctl.Scope {
	switch {
	case g.User:
		return systemdctl.User
	case g.System:
		return systemdctl.System
	case os.Geteuid() == 0:
		return systemdctl.System
	default:
		return systemdctl.User
	}
}

// Output is where a verb prints: text, or with --json one JSON document.
type Output struct {
	Stdout, Stderr io.Writer
	JSON           bool
}

// PrintJSON writes v as indented JSON.
func (o *Output) PrintJSON(v any) error {
	enc := json.NewEncoder(o.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ExitError ends runctl with a given code; Err, if set, is printed first.
type ExitError struct {
	Code int
	Err  error
	// Reported: the verb's JSON record already carries the error.
	Reported bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// usage is a mistake in how runctl was called: exit 2, as kong's own.
func usage(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// Parser is runctl's command line as kong sees it; the man page and the
// shell completions are generated from it, so they cannot drift.
func Parser(root *CLI, version string) *kong.Kong {
	return parser(root, version)
}

func parser(root any, version string) *kong.Kong {
	parser, err := kong.New(root,
		kong.Name("runctl"),
		kong.Description("Run, restart, inspect and autostart programs as systemd units."),
		kong.UsageOnError(),
		kong.Vars{"version": "runctl " + version, "stop_timeout": units.DefaultStopTimeout.String(),
			"settle": runs.DefaultSettle.String(), "settle_help": settleHelp, "stack_help": stackHelp,
			"rollback_help": rollbackHelp},
	)
	if err != nil {
		panic(err) // the CLI definition itself is wrong
	}
	return parser
}

// parse parses args into a CLI's fields. kong builds its model by
// reflection on every start, ~0.5 ms for all verbs, so a command line
// naming its verb is parsed by a model of CLI with that verb's field only:
// the same declarations, and kong parses them the same way. The whole CLI
// parses everything else (no verb, help, and errors, whose messages and
// usage are the whole CLI's). It returns the globals parsed.
func parse(args []string, version string) (*kong.Context, *Globals, error) {
	if verb, ok := verbField(args); ok {
		t := reflect.TypeFor[CLI]()
		var fields []reflect.StructField
		for i := range t.NumField() {
			f := t.Field(i)
			if i != verb && isCommand(f) {
				continue
			}
			if f.Anonymous {
				// Named and tagged embed: StructOf cannot promote methods.
				f.Anonymous, f.Tag = false, reflect.StructTag(strings.TrimSpace(string(f.Tag)+` embed:""`))
			}
			fields = append(fields, f)
		}
		one := reflect.New(reflect.StructOf(fields))
		if kctx, err := parser(one.Interface(), version).Parse(args); err == nil {
			return kctx, one.Elem().FieldByName("Globals").Addr().Interface().(*Globals), nil
		}
	}
	var root CLI
	kctx, err := Parser(&root, version).Parse(args)
	return kctx, &root.Globals, err
}

func isCommand(f reflect.StructField) bool {
	_, ok := f.Tag.Lookup("cmd")
	return ok
}

// verbField is the index in CLI of the verb args name by their first word
// that is not a flag, if that word is a verb's name or alias and no help is
// asked for (before a "--": what follows is the program's).
func verbField(args []string) (int, bool) {
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[:i]
	}
	if slices.ContainsFunc(args, func(a string) bool { return a == "-h" || a == "--help" }) {
		return 0, false
	}
	i := slices.IndexFunc(args, func(a string) bool { return !strings.HasPrefix(a, "-") })
	if i < 0 {
		return 0, false
	}
	t := reflect.TypeFor[CLI]()
	for f := range t.NumField() {
		field := t.Field(f)
		name := field.Tag.Get("name")
		if name == "" {
			name = kebab(field.Name)
		}
		if isCommand(field) && (args[i] == name || slices.Contains(strings.Split(field.Tag.Get("aliases"), ","), args[i])) {
			return f, true
		}
	}
	return 0, false
}

// kebab is kong's name for a field: ResetFailed is reset-failed.
func kebab(field string) string {
	var b strings.Builder
	for i, r := range field {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('-')
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// Main parses args, runs the verb and returns the process's exit code.
func Main(args []string, version string) int {
	// kong turns invalid UTF-8 into U+FFFD; D-Bus carries only UTF-8, so
	// such an argument could not reach the program as typed anyway.
	for i, a := range args {
		if !utf8.ValidString(a) {
			fmt.Fprintf(os.Stderr, "runctl: argument %d (%q) is not valid UTF-8: systemd's D-Bus interface passes only UTF-8 strings\n", i+1, a)
			return 2
		}
	}
	kctx, globals, err := parse(args, version)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runctl: %v\n", err)
		return 2
	}
	return run(kctx, globals, args, version)
}

func run(kctx *kong.Context, globals *Globals, args []string, version string) int {
	level, _ := zerolog.ParseLevel(globals.LogLevel)
	log := zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(level).With().Timestamp().Logger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out := &Output{Stdout: os.Stdout, Stderr: os.Stderr, JSON: globals.JSON}
	defer bindVerb(ctx, kctx, globals, out, log)()
	switch {
	case len(globals.Host) > 0:
		return fanOut(ctx, kctx, globals, args, out, log)
	case globals.FleetProtocol != 0:
		return envelope(ctx, kctx, globals, args, out, version)
	}
	code, err, reported := verbExit(runVerb(ctx, kctx, globals, args, out))
	if err != nil {
		fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
		if out.JSON && !reported {
			out.PrintJSON(map[string]any{"error": err.Error(), "exit_code": code})
		}
	}
	return code
}

// verbExit is the process's exit code for a verb's error, the error to
// report (nil if none), and whether the verb's JSON already holds it.
func verbExit(err error) (code int, report error, reported bool) {
	if err == nil {
		return 0, nil, false
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		return exit.Code, exit.Err, exit.Reported
	}
	return failureCode(err), err, false
}

// exitUnknown is the exit code for a name runctl does not know: systemctl's
// for a unit it does not know (start, stop, restart: EXIT_NOTINSTALLED of
// the LSB codes), so scripts test one code with either tool. status has its
// own, as systemctl status does (statusNoSuchRun).
const exitUnknown = 5

// failureCode is the exit code for a verb's failure: exitUnknown when every
// error err holds is an unknown name, else 1.
func failureCode(err error) int {
	if onlyUnknown(err) {
		return exitUnknown
	}
	return 1
}

func onlyUnknown(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !onlyUnknown(e) {
				return false
			}
		}
		return len(j.Unwrap()) > 0
	}
	return errors.Is(err, runs.ErrUnknown)
}

// Lifecycle connects to the manager on first call and returns the runs'
// lifecycle; verbs that check arguments first take it instead of *runs.Runs.
type Lifecycle func() (*runs.Runs, error)

// store is where the runs of the manager the flags chose are kept.
func store(g *Globals) (specstore.Store, error) {
	dir, err := runs.StoreDir(g.Scope())
	return specstore.Store{Dir: dir}, err
}

// connect builds the lifecycle for the manager the flags chose.
func connect(ctx context.Context, g *Globals, log zerolog.Logger) (*runs.Runs, error) {
	scope := g.Scope()
	st, err := store(g)
	if err != nil {
		return nil, err
	}
	unitDir, err := runs.UnitDir(scope)
	if err != nil {
		return nil, err
	}
	bus := os.Getenv("RUNCTL_BUS")
	m, err := systemdctl.Connect(ctx, systemdctl.Options{Scope: scope, Bus: bus})
	if err != nil {
		return nil, err
	}
	log.Debug().Str("scope", scope.String()).Msg("connected to systemd")
	layout := runs.DefaultLayout(scope)
	if bus != "" {
		layout.CgroupRoot = "" // a manager elsewhere: its control groups are not ours to read
	}
	return &runs.Runs{Manager: m, Store: st, UnitDir: unitDir, Layout: layout, Log: log}, nil
}

// hangups are the signals that tell an attached runctl its terminal is
// gone: SIGHUP (terminal closed, ssh dropped), unless runctl was started
// with it ignored (nohup), and SIGPIPE (output to a closed pipe, which
// would otherwise kill runctl silently and leave the run unattached).
func hangups() []os.Signal {
	if signal.Ignored(syscall.SIGHUP) {
		return []os.Signal{syscall.SIGPIPE}
	}
	return []os.Signal{syscall.SIGHUP, syscall.SIGPIPE}
}

// interrupts delivers SIGINT, SIGTERM and the extra signals to runctl
// until stop is called.
func interrupts(extra ...os.Signal) (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, append([]os.Signal{syscall.SIGINT, syscall.SIGTERM}, extra...)...)
	return ch, func() { signal.Stop(ch) }
}

// target checks NAME, connects, and returns the lifecycle with NAME, or
// with the only run that qualifies (the only running one; with known, else
// the only one runctl keeps), which is then named on out's stdout unless
// out is nil.
func target(ctx context.Context, provide Lifecycle, out *Output, given *string, known bool) (*runs.Runs, string, error) {
	if given != nil {
		if err := validNames(*given); err != nil {
			return nil, "", err
		}
	}
	rs, err := provide()
	if err != nil {
		return nil, "", err
	}
	if given != nil {
		return rs, *given, nil
	}
	name, err := onlyRun(ctx, rs, out, known)
	return rs, name, err
}

// onlyRun is the run a verb given no NAME acts on, named on out's stdout
// unless out is nil. Several that qualify are a usage error (exit 2) that
// lists them.
func onlyRun(ctx context.Context, rs *runs.Runs, out *Output, known bool) (string, error) {
	name, err := rs.OnlyRun(ctx, known)
	var amb *runs.AmbiguousError
	if errors.As(err, &amb) {
		return "", usage("no run named: %v", amb)
	}
	if err != nil {
		return "", err
	}
	if out != nil && !out.JSON {
		fmt.Fprintf(out.Stdout, "no NAME given: acting on %s, the only one\n", name)
	}
	return name, nil
}
