// Package cli is runctl's command line: one file per verb, each a kong
// command whose Run gets the shared *Env.
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

	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
)

// Globals are the flags every verb takes.
type Globals struct {
	User     bool   `help:"Use your own user manager (default for non-root users)." xor:"scope"`
	System   bool   `help:"Use the system manager (default for root)." xor:"scope"`
	JSON     bool   `help:"Print machine-readable JSON instead of text."`
	LogLevel string `help:"Diagnostics on stderr: debug, info, warn, error." default:"warn" enum:"debug,info,warn,error"`
	FleetFlags
}

// CLI is the root of the command line.
type CLI struct {
	Globals

	Run      RunCmd           `cmd:"" help:"Run a program as a systemd unit, attached or with -d in the background. With -H, nothing local is captured: the run gets only -E and --dir (default: the remote user's home)."`
	Ls       LsCmd            `cmd:"" aliases:"list,ps" help:"List runs."`
	Stop     StopCmd          `cmd:"" help:"Stop a run: SIGTERM, then SIGKILL after the timeout."`
	Restart  RestartCmd       `cmd:"" help:"Stop a run, wait until it is gone, start it again exactly as it was."`
	Start    StartCmd         `cmd:"" help:"Start a stopped run again from its kept spec."`
	Rm       RmCmd            `cmd:"" help:"Forget stopped runs."`
	Enable   EnableCmd        `cmd:"" help:"Start runs at boot: write each as a unit file and enable it."`
	Disable  DisableCmd       `cmd:"" help:"No longer start runs at boot; remove the unit files runctl wrote."`
	Status   StatusCmd        `cmd:"" help:"Show runs in detail: state, processes, resources, last log lines."`
	Logs     LogsCmd          `cmd:"" help:"Show a run's output from the journal."`
	ServeSSH ServeSSHCmd      `cmd:"" name:"serve-ssh" help:"Run the runctl command in SSH_ORIGINAL_COMMAND, and nothing else: the forced command of a key restricted to runctl (command=\"runctl serve-ssh\" in authorized_keys)."`
	Version  kong.VersionFlag `help:"Print the version and exit."`
}

// Env is what every verb needs: output streams, the manager, the run store.
type Env struct {
	*Globals
	Ctx    context.Context
	Stdout io.Writer
	Stderr io.Writer
	Log    zerolog.Logger

	cancel context.CancelFunc // ends Ctx, e.g. on Ctrl-C while following
	// interrupted: Ctrl-C or SIGTERM arrived while held off (enable).
	interrupted bool
	mgr         *systemdctl.Manager
}

// ExitError ends runctl with a given code; Err, if set, is printed first.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

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
		kong.Vars{"version": "runctl " + version, "settle": defaultSettle.String(), "settle_help": settleHelp},
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
			if f := t.Field(i); i == verb || !isCommand(f) {
				fields = append(fields, f)
			}
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
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	systemdctl.Crashpoint = crashpoint
	env := &Env{
		Globals: globals,
		Ctx:     ctx,
		cancel:  cancel,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Log:     zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(level).With().Timestamp().Logger(),
	}
	defer env.close()
	if len(globals.Host) > 0 {
		return fanOut(kctx, globals, args, env)
	}
	if globals.FleetProtocol != 0 {
		return envelope(kctx, globals, env, version)
	}
	return verbExit(kctx.Run(env), func(err error) { fmt.Fprintf(env.Stderr, "runctl: %v\n", err) })
}

// verbExit is the process's exit code for a verb's error, which goes to report.
func verbExit(err error, report func(error)) int {
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			report(exit.Err)
		}
		return exit.Code
	}
	report(err)
	return 1
}

// Scope is the manager the user asked for, or the default for who they are.
func (e *Env) Scope() systemdctl.Scope {
	switch {
	case e.User:
		return systemdctl.User
	case e.System:
		return systemdctl.System
	case os.Geteuid() == 0:
		return systemdctl.System
	default:
		return systemdctl.User
	}
}

// Manager connects on first use and keeps the one connection.
func (e *Env) Manager() (*systemdctl.Manager, error) {
	if e.mgr != nil {
		return e.mgr, nil
	}
	opts := systemdctl.Options{Scope: e.Scope(), Bus: os.Getenv("RUNCTL_BUS")}
	m, err := systemdctl.Connect(e.Ctx, opts)
	if err != nil {
		return nil, err
	}
	e.Log.Debug().Str("scope", e.Scope().String()).Msg("connected to systemd")
	e.mgr = m
	return m, nil
}

// Store is where this manager's runs are kept.
func (e *Env) Store() (specstore.Store, error) {
	if d := os.Getenv("RUNCTL_STATE_DIR"); d != "" {
		return specstore.Store{Dir: d}, nil
	}
	if e.Scope() == systemdctl.System {
		return specstore.Store{Dir: specstore.SystemDir}, nil
	}
	d, err := specstore.UserDir()
	return specstore.Store{Dir: d}, err
}

func (e *Env) close() {
	if e.mgr != nil {
		e.mgr.Close()
	}
}

// printJSON writes v as indented JSON.
func (e *Env) printJSON(v any) error {
	enc := json.NewEncoder(e.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// interrupts delivers SIGINT and SIGTERM to runctl until stop is called.
func interrupts() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}
