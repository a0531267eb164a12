package cli

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/journal"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/systemdctl"
	"github.com/runctl/runctl/units"
)

// RunCmd runs a program as a transient unit.
type RunCmd struct {
	Daemon       bool          `short:"d" help:"Return once the run is active instead of staying attached."`
	Name         *string       `short:"n" help:"Name of the run (default: from the command's basename)." placeholder:"NAME"`
	Env          []string      `short:"E" name:"env" sep:"none" help:"Set an environment variable for the run (repeatable)." placeholder:"K=V"`
	Dir          string        `help:"Working directory of the run (default: the current one)." placeholder:"DIR"`
	StopTimeout  time.Duration `help:"How long a stop waits after SIGTERM before SIGKILL." default:"10s"`
	Replace      bool          `help:"If NAME is running, stop it, wait until it is gone, then start this command in its place."`
	Restart      string        `help:"Restart automatically: no, on-failure or always." enum:"no,on-failure,always" default:"no"`
	RestartDelay time.Duration `help:"Wait this long before an automatic restart." default:"100ms"`
	MaxRestarts  int           `help:"Give up (run stays failed) after N automatic restarts within --within." placeholder:"N"`
	Within       time.Duration `help:"The interval --max-restarts counts in." default:"10s"`
	Enable       bool          `help:"Also start the run at boot (as runctl enable)."`
	NoLogLimit   bool          `help:"Lift journald's rate limit for this run (10,000 lines per 30 s by default; lines beyond are dropped)."`
	Settle       time.Duration `help:"${settle_help} Only with -d." default:"${settle}" placeholder:"DUR"`
	Property     []string      `short:"p" sep:"none" help:"Set a unit property, as in a unit file (repeatable); see PROPERTIES for the ones taken." placeholder:"KEY=VALUE"`
	StopSignal   string        `help:"Signal a stop, restart or Ctrl-C sends first (-p KillSignal=; SIGTERM by default)." placeholder:"SIGNAL"`
	UID          string        `name:"uid" help:"Run the program as this user (system manager only)." placeholder:"USER"`
	GID          string        `name:"gid" help:"Run the program with this group (default: the user's own)." placeholder:"GROUP"`
	// -H sends it: the environment of a remote ssh session is nobody's choice.
	CleanEnv bool     `hidden:"" help:"Capture no environment: only -E."`
	Command  []string `arg:"" passthrough:"" help:"The command and its arguments, passed verbatim." placeholder:"CMD [ARG...]"`
}

// spec builds the run's spec from the command line and the caller's
// environment; nothing is created if this fails.
func (c *RunCmd) spec() (*units.Spec, []string, error) {
	argv := c.Command
	if len(argv) > 0 && argv[0] == "--" {
		argv = argv[1:]
	} else if len(argv) > 0 && strings.HasPrefix(argv[0], "-") {
		// kong passes everything from the first non-flag on; without "--"
		// a mistyped flag would be taken for the command.
		return nil, nil, fmt.Errorf("unknown flag %s (put the command after --: runctl run [flags] -- CMD [ARG...])", argv[0])
	}
	if len(argv) == 0 || argv[0] == "" {
		return nil, nil, errors.New("no command given: runctl run [flags] -- CMD [ARG...]")
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot read the current directory: %w", err)
	}
	dir := cwd
	if c.Dir != "" {
		dir, err = absDir(cwd, c.Dir)
		if err != nil {
			return nil, nil, err
		}
	}
	path, err := units.ResolveExecutable(argv[0], os.Getenv("PATH"), cwd)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot run %q: %w", argv[0], err)
	}
	name := units.SanitizeName(argv[0])
	if c.Name != nil {
		name = *c.Name // even "", which ValidateName refuses
	}
	if err := units.ValidateName(name); err != nil {
		return nil, nil, err
	}
	base := os.Environ()
	if c.CleanEnv {
		base = nil
	}
	env, dropped, err := units.CaptureEnv(base, c.Env, dir)
	if err != nil {
		return nil, nil, err
	}
	if c.StopTimeout <= 0 {
		return nil, nil, fmt.Errorf("invalid --stop-timeout %v: give a positive duration such as 10s", c.StopTimeout)
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
		NoLogLimit:  c.NoLogLimit,
		Properties:  append([]string(nil), c.Property...),
	}
	if c.StopSignal != "" {
		if _, err := units.ParseSignal(c.StopSignal); err != nil {
			return nil, nil, fmt.Errorf("invalid --stop-signal: %w", err)
		}
		spec.Properties = append(spec.Properties, "KillSignal="+c.StopSignal)
	}
	if err := units.CheckProperties(spec.Properties); err != nil {
		return nil, nil, err
	}
	for _, g := range units.SupplementaryGroups(spec.Properties) {
		if _, err := lookupGroup(g); err != nil {
			return nil, nil, fmt.Errorf("invalid SupplementaryGroups: %w", err)
		}
	}
	if c.UID != "" {
		if _, err := lookupUser(c.UID); err != nil {
			return nil, nil, fmt.Errorf("invalid --uid: %w", err)
		}
		spec.User = c.UID
	}
	if c.GID != "" {
		if _, err := lookupGroup(c.GID); err != nil {
			return nil, nil, fmt.Errorf("invalid --gid: %w", err)
		}
		spec.Group = c.GID
	}
	if c.Restart != "no" {
		spec.RestartDelay = units.Duration(c.RestartDelay)
	}
	if c.MaxRestarts > 0 {
		spec.MaxRestarts, spec.Within = c.MaxRestarts, units.Duration(c.Within)
	}
	if err := checkSettle(c.Settle); err != nil {
		return nil, nil, err
	}
	if c.RestartDelay < 0 || c.Within <= 0 || c.MaxRestarts < 0 {
		return nil, nil, errors.New("invalid restart settings: --restart-delay, --within and --max-restarts must not be negative")
	}
	return spec, dropped, spec.Validate()
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

func (c *RunCmd) Run(e *Env) error {
	if (c.UID != "" || c.GID != "") && e.Scope() == systemdctl.User {
		return errors.New("--uid and --gid need the system manager (sudo runctl ...): a user manager runs everything as you")
	}
	spec, dropped, err := c.spec()
	if err != nil {
		return err
	}
	if len(dropped) > 0 {
		e.Log.Info().Strs("vars", dropped).Msg("environment variables not passed to the run (invalid name or value)")
	}
	if !c.Daemon {
		if err := journal.Reachable(); err != nil {
			return fmt.Errorf("cannot run %s attached: %v, so systemd would send its output to /dev/null; start journald (systemctl start systemd-journald.socket), or run it with -d", spec.Name, err)
		}
	}
	// Catch Ctrl-C from here on, so an interrupt during the start still
	// stops what was started.
	sigs, stopSigs := interrupts()
	defer stopSigs()

	begin := time.Now()
	res, w, err := e.startLocked(spec, c)
	if w != nil {
		defer w.Close()
	}
	switch {
	case err != nil && !c.Daemon && w != nil && programRan(w.State()):
		// It ran and ended during its start: attach reports it like any end.
	case err != nil:
		return err
	}
	if !c.Daemon {
		return e.attach(spec, begin, w, sigs)
	}
	if e.JSON {
		return e.printJSON(res)
	}
	if res.Steps[0].Step == "stop" {
		res.print(e, "replaced")
	}
	scope := ""
	if e.Scope() == systemdctl.User {
		scope = " --user"
	}
	fmt.Fprintf(e.Stdout, "started %s (unit %s, pid %d)\n", spec.Name, res.Unit, res.PID)
	fmt.Fprintf(e.Stdout, "  logs: runctl%s logs -f %s\n  stop: runctl%s stop %s\n", scope, spec.Name, scope, spec.Name)
	return nil
}

// startLocked checks the name is free (or to be replaced), keeps the spec
// and starts the run, holding the run's lock only for that. The spec's
// files are written and synced while runctl connects and checks the name,
// put in place once the name is known to be free, and the folder synced
// during the start: success is reported only once the spec is durable.
func (e *Env) startLocked(spec *units.Spec, c *RunCmd) (cycleResult, *systemdctl.Watch, error) {
	store, err := e.Store()
	if err != nil {
		return cycleResult{}, nil, err
	}
	type prepared struct {
		p   *specstore.Pending
		err error
	}
	pending := make(chan prepared, 1)
	go func() {
		p, err := store.Prepare(spec)
		pending <- prepared{p, err}
	}()
	abort := func(err error) (cycleResult, *systemdctl.Watch, error) {
		if pr := <-pending; pr.p != nil {
			pr.p.Abort()
		}
		return cycleResult{}, nil, err
	}
	m, err := e.Manager()
	if err != nil {
		return abort(err)
	}
	unlock, err := e.lockRun(spec.Name, true)
	if err != nil {
		return abort(err)
	}
	defer unlock()
	cur, err := m.Brief(e.Ctx, units.UnitName(spec.Name))
	if err != nil {
		return abort(err)
	}
	if cur.Running() && !c.Replace {
		return abort(fmt.Errorf("run %s is already running: stop it first (runctl stop %s), replace it (run --replace), or choose another name with -n", spec.Name, spec.Name))
	}
	if c.Enable {
		if err := e.checkUnitName(spec.Name); err != nil {
			return abort(fmt.Errorf("cannot enable %s: %w", spec.Name, err))
		}
	}
	fresh := !store.Has(spec.Name)
	pr := <-pending
	if pr.err != nil {
		return cycleResult{}, nil, permissionHint(fmt.Errorf("cannot keep the run's spec: %w", pr.err), e.Scope())
	}
	durable, err := pr.p.Commit()
	if err != nil {
		return cycleResult{}, nil, permissionHint(fmt.Errorf("cannot keep the run's spec: %w", err), e.Scope())
	}
	if c.Enable {
		// Enabled from the start: the run is its unit file at once, not a
		// transient unit that would shadow the file until a restart.
		if err := e.enableLocked(spec); err != nil {
			durable()
			return cycleResult{}, nil, err
		}
	}
	res, w, err := e.cycle(spec, cycleOptions{Watch: !c.Daemon, Fresh: !cur.Loaded(), Settle: c.Settle})
	if errors.Is(err, errTaken) && fresh {
		store.Remove(spec.Name) // nothing of runctl's was there: leave nothing
	}
	if derr := durable(); derr != nil && err == nil {
		err = fmt.Errorf("%s started, but its spec may not survive a power loss: %w", spec.Name, derr)
	}
	return res, w, err
}

func permissionHint(err error, scope systemdctl.Scope) error {
	if !errors.Is(err, os.ErrPermission) && !errors.Is(err, systemdctl.ErrPermission) {
		return err
	}
	if scope == systemdctl.System {
		return fmt.Errorf("%w; runs of the system manager need root: use sudo, or --user for your own manager", err)
	}
	return err
}

// attach streams the run's output from the journal until it ends, turns the
// first Ctrl-C or SIGTERM into a graceful stop and a second into SIGKILL,
// and exits with the program's status.
func (e *Env) attach(spec *units.Spec, begin time.Time, w *systemdctl.Watch, sigs <-chan os.Signal) error {
	m, _ := e.Manager()
	unit := units.UnitName(spec.Name)
	// Follow the unit since the start, not its invocation id: journald
	// reads the id from the unit's cgroup, which a program that exits at
	// once has already left.
	follow := journal.Follow(journal.Query{User: e.Scope() == systemdctl.User, Units: []string{unit}, Since: begin}, func(en journal.Entry) {
		if en.Manager {
			return
		}
		out := e.Stdout
		if en.Priority <= 3 {
			out = e.Stderr
		}
		out.Write(append(en.Message, '\n'))
	})
	final := w.State()
	if !systemdctl.Over(final, nil) {
		waitDone := make(chan systemdctl.State, 1)
		go func() {
			s, _ := w.Wait(e.Ctx, systemdctl.Over)
			waitDone <- s
		}()
		interrupts := 0
	loop:
		for {
			select {
			case final = <-waitDone:
				break loop
			case <-sigs:
				interrupts++
				if interrupts == 1 {
					fmt.Fprintf(e.Stderr, "runctl: stopping %s (again to kill)\n", spec.Name)
					go m.Stop(e.Ctx, unit, systemdctl.StopOptions{})
				} else {
					fmt.Fprintf(e.Stderr, "runctl: killing %s\n", spec.Name)
					_ = m.Kill(e.Ctx, unit, unix.SIGKILL)
				}
			}
		}
	}
	if err := follow.Finish(e.Ctx); err != nil {
		fmt.Fprintf(e.Stderr, "runctl: the run's last output may be missing: %v\n", err)
	}
	if err := journal.Reachable(); err != nil {
		fmt.Fprintf(e.Stderr, "runctl: %v: output the run wrote after journald stopped is lost\n", err)
	}
	if final.ActiveState == "failed" {
		_ = m.ResetFailed(e.Ctx, unit)
	}
	return &ExitError{Code: exitCode(final)}
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
