package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// RunCmd runs a program as a transient unit.
type RunCmd struct {
	Daemon       bool          `short:"d" help:"Return once the run is active instead of staying attached."`
	Name         *string       `short:"n" help:"Name of the run (default: the command's basename; for python3, node, bash, sh, ruby or perl, the script's, or python3 -m's module)." placeholder:"NAME"`
	Env          []string      `short:"E" name:"env" sep:"none" help:"Set an environment variable for the run (repeatable); PATH=... is also where the command is looked up." placeholder:"K=V"`
	EnvFile      []string      `name:"env-file" help:"Set the run's environment variables from FILE, NAME=VALUE lines (# comments; values taken literally, one pair of enclosing quotes removed), read now into the run's spec as -E values are; -E wins (repeatable). With -H, FILE is read on the host." placeholder:"FILE"`
	Source       []string      `help:"Give the run the environment a shell (bash, else sh) has after sourcing FILE, e.g. a ROS setup.bash; run now, in the run's directory, on the machine the run starts on (with -H: FILE is the host's). The command stays exactly as typed; --env-file and -E win (repeatable)." placeholder:"FILE"`
	Dir          string        `help:"Working directory of the run (default: the current one)." placeholder:"DIR"`
	StopTimeout  time.Duration `help:"How long a stop waits after SIGTERM before SIGKILL." default:"${stop_timeout}"`
	Replace      bool          `help:"If NAME is running, stop it, wait until it is gone, then start this command in its place."`
	Rollback     bool          `help:"With -d --replace: ${rollback_help}"`
	Restart      string        `help:"Restart automatically: no, on-failure or always." enum:"no,on-failure,always" default:"no"`
	RestartDelay time.Duration `help:"Wait this long before an automatic restart (the first one, with --restart-max-delay)." default:"100ms"`
	MaxDelay     time.Duration `name:"restart-max-delay" help:"Back off: each automatic restart waits about twice as long as the one before, up to this (systemd 254 and later: RestartSteps=, RestartMaxDelaySec=). Older systemd waits --restart-delay every time." placeholder:"DUR"`
	MaxRestarts  string        `help:"Give up (run stays failed) after N automatic restarts within --within; none: never give up. Without it systemd gives up after 5 starts in 10 s." placeholder:"N|none"`
	Within       time.Duration `help:"The interval --max-restarts counts in." default:"10s"`
	Enable       bool          `help:"Also start the run at boot (as runctl enable)."`
	Buffered     bool          `help:"Leave the program's output buffering as it is. Without it, runctl adds PYTHONUNBUFFERED=1 and RCUTILS_LOGGING_BUFFERED_STREAM=1 to the run's environment (each unless the environment sets it, e.g. -E PYTHONUNBUFFERED=), so that Python's print() and ROS 2 logging reach the journal as they are printed, not blocks at a time or at exit; they are added to the unit, not to the run's spec: ls, status --json and export show your environment."`
	NoLogLimit   bool          `help:"Lift journald's rate limit for this run (10,000 lines per 30 s by default; lines beyond are dropped). Implied without -d."`
	Settle       time.Duration `help:"${settle_help} Only with -d." default:"${settle}" placeholder:"DUR"`
	Property     []string      `short:"p" sep:"none" help:"Set a unit property, as in a unit file (repeatable); see PROPERTIES for the ones taken." placeholder:"KEY=VALUE"`
	StopSignal   string        `help:"Signal stop, restart and SIGTERM to an attached runctl send first (-p KillSignal=; SIGTERM by default). Ctrl-C of an attached run sends SIGINT." placeholder:"SIGNAL"`
	Stdin        bool          `short:"i" help:"Attached: the program reads runctl's stdin (a pipe as it is, a terminal through a pty)."`
	Notify       bool          `help:"The program tells systemd it is ready (sd_notify READY=1): the start returns then, instead of after --settle, or fails at TimeoutStartSec (-p, 90s by default)."`
	Watchdog     time.Duration `help:"The program must send WATCHDOG=1 this often, or systemd kills it (SIGABRT; with --restart, restarts it)." placeholder:"DUR"`
	After        []string      `help:"Start after NAME and start NAME with it (After=, Wants=; repeatable): a run, or a systemd unit named with its type, e.g. network-online.target, time-sync.target, a mount (mnt-data.mount), a device (dev-ttyUSB0.device) or a service. A run whose name ends so is named by its unit, runctl-NAME.service." placeholder:"NAME"`
	Wants        []string      `help:"Start NAME with this run, in no particular order (Wants=; repeatable): a run or a systemd unit, as with --after." placeholder:"NAME"`
	UID          string        `name:"uid" help:"Run the program as this user (system manager only)." placeholder:"USER"`
	GID          string        `name:"gid" help:"Run the program with this group (default: the user's own)." placeholder:"GROUP"`
	// -H sends it: the environment of a remote ssh session is nobody's choice.
	CleanEnv bool     `hidden:"" help:"Capture no environment: only -E."`
	Command  []string `arg:"" passthrough:"" help:"The command and its arguments, passed verbatim." placeholder:"CMD [ARG...]"`
}

// spec builds the run's spec from the command line and the caller's
// environment; nothing is created if this fails.
func (c *RunCmd) spec(ctx context.Context) (*units.Spec, []string, error) {
	argv := c.Command
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	} else if len(argv) > 0 && strings.HasPrefix(argv[0], "-") {
		// kong passes everything from the first non-flag on; without "--"
		// a mistyped flag would be taken for the command.
		return nil, nil, usage("unknown flag %s (put the command after --: runctl run [flags] -- CMD [ARG...])", argv[0])
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, nil, usage("no command given: runctl run [flags] -- CMD [ARG...]")
	}
	if c.StopTimeout <= 0 {
		return nil, nil, usage("invalid --stop-timeout %v: give a positive duration such as 10s", c.StopTimeout)
	}
	maxRestarts, noLimit, err := parseMaxRestarts(c.MaxRestarts)
	if err != nil {
		return nil, nil, err
	}
	if c.RestartDelay < 0 || c.Within <= 0 || c.MaxDelay < 0 {
		return nil, nil, usage("invalid restart settings: --restart-delay, --restart-max-delay and --within must not be negative")
	}
	if c.MaxDelay > 0 && c.MaxDelay < c.RestartDelay {
		return nil, nil, usage("invalid --restart-max-delay %v: it is below --restart-delay %v", c.MaxDelay, c.RestartDelay)
	}
	if c.MaxDelay > 0 && c.RestartDelay <= 0 {
		return nil, nil, usage("invalid --restart-max-delay: it needs a --restart-delay to grow from, such as 200ms")
	}
	if err := checkSettle(c.Settle); err != nil {
		return nil, nil, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the current directory: %w", err)
	}
	dir := cwd
	if c.Dir != "" {
		if dir, err = absDir(cwd, c.Dir); err != nil {
			return nil, nil, err
		}
	}
	name := units.DefaultName(argv)
	if c.Name != nil {
		name = *c.Name // even "", which ValidateName refuses
	}
	if err := units.ValidateName(name); err != nil {
		return nil, nil, usage("%v", err)
	}
	base := os.Environ()
	if c.CleanEnv {
		base = nil // the run gets the manager's default PATH (units.SearchPath)
	}
	if len(c.Source) > 0 {
		if base, err = sourceEnv(ctx, c.Source, base, dir); err != nil {
			return nil, nil, err
		}
	}
	var extra []string
	for _, f := range c.EnvFile {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, usage("invalid --env-file %s: %v", f, errors.Unwrap(err))
		}
		vars, err := units.ReadEnvLines(data)
		if err != nil {
			return nil, nil, usage("invalid --env-file %s: %v", f, err)
		}
		extra = append(extra, vars...)
	}
	env, dropped, err := units.CaptureEnv(base, append(extra, c.Env...), dir)
	if err != nil {
		return nil, nil, usage("%v", err)
	}
	// The command is looked up in the PATH the run gets (-E PATH=...).
	path, err := units.ResolveExecutable(argv[0], units.SearchPath(env), cwd)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot run %q: %w", argv[0], err)
	}
	spec := &units.Spec{
		Version:     units.SpecVersion,
		Name:        name,
		Argv:        append([]string(nil), argv...),
		Path:        path,
		Dir:         dir,
		Env:         env,
		StopTimeout: units.Duration(c.StopTimeout),
		Created:     time.Now().UTC().Round(time.Second),
		Restart:     c.Restart,
		// Attached, the user watches every line: journald's limit would drop
		// some without a word (it reports drops only when the unit logs again
		// after its interval).
		NoLogLimit: c.NoLogLimit || !c.Daemon,
		Buffered:   c.Buffered,
		Properties: append([]string(nil), c.Property...),
	}
	if c.StopSignal != "" {
		if _, err := units.ParseSignal(c.StopSignal); err != nil {
			return nil, nil, usage("invalid --stop-signal: %v", err)
		}
		spec.Properties = append(spec.Properties, "KillSignal="+c.StopSignal)
	}
	if err := units.CheckProperties(spec.Properties); err != nil {
		return nil, nil, usage("%v", err)
	}
	for _, g := range units.SupplementaryGroups(spec.Properties) {
		if _, err := lookupGroup(g); err != nil {
			return nil, nil, usage("invalid SupplementaryGroups: %v", err)
		}
	}
	spec.After, spec.Wants = c.After, c.Wants
	spec.Notify = c.Notify
	if c.Watchdog < 0 {
		return nil, nil, usage("invalid --watchdog %v: give a positive duration such as 5s", c.Watchdog)
	}
	spec.Watchdog = units.Duration(c.Watchdog)
	if c.UID != "" {
		if _, err := lookupUser(c.UID); err != nil {
			return nil, nil, usage("invalid --uid: %v", err)
		}
		spec.User = c.UID
	}
	if c.GID != "" {
		if _, err := lookupGroup(c.GID); err != nil {
			return nil, nil, usage("invalid --gid: %v", err)
		}
		spec.Group = c.GID
	}
	if c.Restart != "no" {
		spec.RestartDelay = units.Duration(c.RestartDelay)
		spec.RestartMaxDelay = units.Duration(c.MaxDelay)
	}
	spec.NoRestartLimit = noLimit
	if maxRestarts > 0 {
		spec.MaxRestarts, spec.Within = maxRestarts, units.Duration(c.Within)
	}
	return spec, dropped, spec.Validate()
}

// parseMaxRestarts reads --max-restarts: a count, or none for no limit
// ("": systemd's default limit).
func parseMaxRestarts(v string) (n int, none bool, err error) {
	switch v {
	case "":
		return 0, false, nil
	case "none":
		return 0, true, nil
	}
	n, err = strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, false, usage("invalid --max-restarts %q: give a number of restarts, or none to never give up", v)
	}
	return n, false, nil
}

// lookupUser checks a user exists here, by name or number, before anything
// is created: systemd would only fail the start (status 217/USER).
func lookupUser(u string) (*user.User, error) {
	look := user.Lookup
	if _, err := strconv.Atoi(u); err == nil {
		look = user.LookupId
	}
	usr, err := look(u)
	if err != nil {
		return nil, fmt.Errorf("user %q does not exist on this host", u)
	}
	return usr, nil
}

// lookupGroup checks a group exists here, by name or number, before
// anything is created: systemd would only fail the start.
func lookupGroup(g string) (*user.Group, error) {
	look := user.LookupGroup
	if _, err := strconv.Atoi(g); err == nil {
		look = user.LookupGroupId
	}
	gr, err := look(g)
	if err != nil {
		return nil, fmt.Errorf("group %q does not exist on this host", g)
	}
	return gr, nil
}

func absDir(cwd, dir string) (string, error) {
	if dir[0] != '/' {
		dir = cwd + "/" + dir
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("invalid --dir %s: no such directory", dir)
	case errors.Is(err, os.ErrPermission):
		return "", fmt.Errorf("invalid --dir %s: permission denied", dir)
	case err != nil:
		return "", fmt.Errorf("invalid --dir %s: %v", dir, errors.Unwrap(err))
	case !fi.IsDir():
		return "", fmt.Errorf("invalid --dir %s: not a directory", dir)
	}
	return filepath.Clean(dir), nil
}

func (c *RunCmd) Run(ctx context.Context, g *Globals, out *Output, log zerolog.Logger, provide Lifecycle) error {
	if (c.UID != "" || c.GID != "") && g.Scope() == systemdctl.User {
		return usage("--uid and --gid need the system manager (sudo runctl ...): a user manager runs everything as you")
	}
	spec, dropped, err := c.spec(ctx)
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		log.Info().Strs("vars", dropped).Msg("environment variables not passed to the run (invalid name or value)")
	}
	if c.Stdin && c.Daemon {
		return usage("-i needs an attached run: a run with -d has no stdin of runctl's to read")
	}
	if c.Rollback && (!c.Replace || !c.Daemon) {
		return usage("--rollback needs -d and --replace: it undoes a replace whose new instance does not come up")
	}
	if !c.Daemon {
		if err := journal.Reachable(); err != nil {
			return fmt.Errorf("cannot run %s attached: %v, so systemd would send its output to /dev/null; start journald (systemctl start systemd-journald.socket), or run it with -d", spec.Name, err)
		}
	}
	// The spec is written and synced while runctl connects.
	kept, err := store(g)
	if err != nil {
		return err
	}
	if err := runs.CheckAfter(kept, spec); err != nil {
		return err
	}
	prep := runs.Prepare(kept, spec)
	rs, err := provide()
	if err != nil {
		prep.Abort()
		return err
	}
	// Catch Ctrl-C from here on, so an interrupt during the start still
	// reaches what was started.
	var extra []os.Signal
	if !c.Daemon {
		extra = hangups()
	}
	sigs, stopSigs := interrupts(extra...)
	defer stopSigs()

	var stdin *units.Stdin
	if c.Stdin {
		var done func()
		stdin, done, err = attachStdin()
		if err != nil {
			prep.Abort()
			return err
		}
		defer done()
	}
	var prev *units.Spec
	if c.Rollback {
		if prev, err = rs.Previous(ctx, spec.Name); err != nil {
			prep.Abort()
			return err
		}
	}
	begin := time.Now()
	res, w, err := rs.Start(ctx, spec, runs.StartOptions{Replace: c.Replace, Enable: c.Enable, Attach: !c.Daemon, Settle: c.Settle, Prepared: prep, Stdin: stdin})
	if w != nil {
		defer w.Close()
	}
	if rb, rerr := rollBack(ctx, rs, prev, res.Cycle, err, c.Settle); rb.RolledBack || rb.RollbackError != "" {
		if out.JSON {
			out.PrintJSON(struct {
				runs.Started
				Error string `json:"error"`
				rollback
			}{res, rerr.Error(), rb})
		}
		return &ExitError{Code: 1, Err: rerr, Reported: out.JSON}
	}
	var died *runs.DiedError
	switch {
	case err != nil && !c.Daemon && w != nil && runs.ProgramRan(w.State()):
		// It ran and ended during its start: attach reports it like any end.
	case errors.As(err, &died) && died.Finished():
		// A short job that did its work: exit 0, as the program did.
		if out.JSON {
			return out.PrintJSON(res)
		}
		fmt.Fprintln(out.Stdout, died.FinishedText())
		return nil
	case err != nil:
		return err
	}
	if res.Enabled != "" && !out.JSON {
		fmt.Fprintf(out.Stdout, "enabled %s: it starts at boot (%s)\n", spec.Name, res.Enabled)
	}
	if !c.Daemon {
		// Output nobody reads any more is a hangup at once, not at the
		// run's next line (-H: Ctrl-C ended the ssh session).
		final := rs.Attach(ctx, spec, begin, w, runs.Attached{Stdout: out.Stdout, Stderr: out.Stderr, Interrupts: hangupWhenOutputGone(sigs, out)})
		return &ExitError{Code: exitCode(final)}
	}
	if out.JSON {
		return out.PrintJSON(res)
	}
	switch {
	case res.Steps[0].Step == "stop":
		printCycle(out, res.Cycle, "replaced")
	case res.ReplacedSpec:
		fmt.Fprintf(out.Stdout, "replaced the kept spec of the stopped run %s\n", spec.Name)
	}
	scope := ""
	if g.Scope() == systemdctl.User {
		scope = " --user"
	}
	fmt.Fprintf(out.Stdout, "started %s (unit %s, pid %d)\n", spec.Name, res.Unit, res.PID)
	fmt.Fprintf(out.Stdout, "  logs: runctl%s logs -f %s\n  stop: runctl%s stop %s\n", scope, spec.Name, scope, spec.Name)
	return nil
}

// exitCode mirrors the program's status: exit N gives N, killed by signal N
// gives 128+N (as a shell reports it), anything else 1.
func exitCode(st systemdctl.State) int {
	code, sig, ok := st.Exited()
	switch {
	case !ok:
		return 1
	case sig != 0:
		return 128 + int(sig)
	default:
		return code
	}
}
