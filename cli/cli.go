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
	"syscall"
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
}

// CLI is the root of the command line.
type CLI struct {
	Globals

	Run     RunCmd           `cmd:"" help:"Run a program as a systemd unit, attached or with -d in the background."`
	Ls      LsCmd            `cmd:"" aliases:"list,ps" help:"List runs."`
	Stop    StopCmd          `cmd:"" help:"Stop a run: SIGTERM, then SIGKILL after the timeout."`
	Restart RestartCmd       `cmd:"" help:"Stop a run, wait until it is gone, start it again exactly as it was."`
	Start   StartCmd         `cmd:"" help:"Start a stopped run again from its kept spec."`
	Rm      RmCmd            `cmd:"" help:"Forget stopped runs."`
	Enable  EnableCmd        `cmd:"" help:"Start runs at boot: write each as a unit file and enable it."`
	Disable DisableCmd       `cmd:"" help:"No longer start runs at boot; remove the unit files runctl wrote."`
	Status  StatusCmd        `cmd:"" help:"Show runs in detail: state, processes, resources, last log lines."`
	Logs    LogsCmd          `cmd:"" help:"Show a run's output from the journal."`
	Version kong.VersionFlag `help:"Print the version and exit."`
}

// Env is what every verb needs: output streams, the manager, the run store.
type Env struct {
	*Globals
	Ctx    context.Context
	Stdout io.Writer
	Stderr io.Writer
	Log    zerolog.Logger

	cancel context.CancelFunc // ends Ctx, e.g. on Ctrl-C while following
	mgr    *systemdctl.Manager
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
	parser, err := kong.New(root,
		kong.Name("runctl"),
		kong.Description("Run, restart, inspect and autostart programs as systemd units."),
		kong.UsageOnError(),
		kong.Vars{"version": "runctl " + version},
	)
	if err != nil {
		panic(err) // the CLI definition itself is wrong
	}
	return parser
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
	var root CLI
	parser := Parser(&root, version)
	kctx, err := parser.Parse(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runctl: %v\n", err)
		return 2
	}
	return run(kctx, &root)
}

func run(kctx *kong.Context, root *CLI) int {
	level, _ := zerolog.ParseLevel(root.LogLevel)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	systemdctl.Crashpoint = crashpoint
	env := &Env{
		Globals: &root.Globals,
		Ctx:     ctx,
		cancel:  cancel,
		Stdout:  os.Stdout,
		Stderr:  os.Stderr,
		Log:     zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr, NoColor: true}).Level(level).With().Timestamp().Logger(),
	}
	defer env.close()
	err := kctx.Run(env)
	if err == nil {
		return 0
	}
	var exit *ExitError
	if errors.As(err, &exit) {
		if exit.Err != nil {
			fmt.Fprintf(env.Stderr, "runctl: %v\n", exit.Err)
		}
		return exit.Code
	}
	fmt.Fprintf(env.Stderr, "runctl: %v\n", err)
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
