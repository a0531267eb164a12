package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/alecthomas/kong"
	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/fleet"
	"github.com/runctl/runctl/units"
)

// ServeSSHCmd is the forced command of a key restricted to runctl: it runs
// the runctl command in SSH_ORIGINAL_COMMAND if the key's command line
// grants everything it asks for, and nothing else.
type ServeSSHCmd struct {
	Allow        []string `help:"Also allow through this key: run, rm, enable, disable, apply, export (the verbs, and run --enable; apply starts any program its file names, export shows the runs' environments); env (-E, --env-file, --source, run without --clean-env, restart --update-env); uid (--uid, --gid); property (-p, --stop-signal, a systemd unit in --after or --wants); dir (--dir). Comma-separated, repeatable." placeholder:"GRANT"`
	AllowProgram []string `help:"With --allow run: a program runs may start, named by its absolute path exactly as the client must name it (repeatable); no other is started." placeholder:"PATH"`
}

// The grants of --allow.
var serveSSHGrants = []string{"run", "rm", "enable", "disable", "apply", "export", "env", "uid", "property", "dir"}

// serveSSHVerbs are the verbs a restricted key may use, each with the
// grant it needs ("" for none: reads and the lifecycle of existing runs).
var serveSSHVerbs = map[string]string{
	"ls": "", "status": "", "logs": "", "restart": "", "stop": "", "start": "",
	"run": "run", "rm": "rm", "enable": "enable", "disable": "disable",
	"apply": "apply", "export": "export",
}

// serveSSHFlags are the flags a restricted key may use, each with the
// grant it needs. A flag not listed is refused (TestServeSSHKnowsEveryFlag
// keeps the list complete); "-" is never allowed: the fleet flags, since
// -H is never honoured on the far side.
var serveSSHFlags = map[string]string{
	// global
	"help": "", "version": "", "user": "", "system": "", "json": "", "log-level": "", "fleet-protocol": "",
	"host": "-", "inventory": "-", "parallel": "-", "serial": "-", "max-fail": "-", "host-timeout": "-", "remote-runctl": "-",
	// ls, status, logs, stop, restart, start, rm, disable
	"quiet": "", "usage": "", "lines": "", "follow": "", "since": "", "until": "", "invocation": "", "priority": "", "no-hostname": "",
	"force": "", "all": "", "timeout": "", "settle": "", "update-env": "env",
	"boot": "", "grep": "", "reverse": "", "output": "", "no-pager": "",
	// run
	"daemon": "", "name": "", "env": "env", "env-file": "env", "source": "env", "dir": "dir", "stop-timeout": "", "replace": "", "restart": "",
	"restart-delay": "", "restart-max-delay": "", "max-restarts": "", "within": "", "enable": "enable", "no-log-limit": "", "buffered": "",
	"property": "property", "stop-signal": "property", "stdin": "", "notify": "", "watchdog": "", "after": "", "wants": "",
	"uid": "uid", "gid": "uid", "clean-env": "",
	// apply, export (the verbs need their grant)
	"prune": "", "dry-run": "", "stack": "",
	// run --replace, restart --update-env, apply: a failed change starts
	// the spec that ran before it again, which needed no grant then
	"rollback": "",
	// serve-ssh's own flags are refused with the verb
	"allow": "-", "allow-program": "-",
}

func (c *ServeSSHCmd) Run() error {
	orig := os.Getenv("SSH_ORIGINAL_COMMAND")
	words, err := fleet.SplitWords(orig)
	if err == nil {
		err = c.check(words)
	}
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("serve-ssh: refused %q: %v", orig, err)}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("serve-ssh: cannot find runctl's own executable: %w", err)
	}
	// The same runctl, never the path the client named, and no shell: it
	// parses the words checked here exactly as check did. Nothing of
	// runctl's own knobs comes from the client's environment.
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "RUNCTL_") })
	return unix.Exec(self, append([]string{"runctl"}, words[1:]...), env)
}

// check parses the client's words with runctl's own command line (so a
// flag is read here exactly as the runctl that runs them reads it:
// combined short flags, -H=..., --flag=value) and refuses anything the
// key's grants do not cover.
func (c *ServeSSHCmd) check(words []string) error {
	for _, g := range c.Allow {
		if !slices.Contains(serveSSHGrants, g) {
			return fmt.Errorf("this key's command has --allow %q, which is not one of %s: fix the key's command= in authorized_keys", g, strings.Join(serveSSHGrants, ", "))
		}
	}
	for _, p := range c.AllowProgram {
		if !filepath.IsAbs(p) {
			return fmt.Errorf("this key's command has --allow-program %q, which is not an absolute path: fix the key's command= in authorized_keys", p)
		}
	}
	if len(words) == 0 || filepath.Base(words[0]) != "runctl" {
		return fmt.Errorf("not a runctl command; this key runs only runctl commands (runctl VERB ...), without a shell")
	}
	kctx, _, err := parse(words[1:], "serve-ssh")
	if err != nil {
		return err
	}
	verb := kctx.Selected()
	if verb == nil {
		return errors.New("no verb given: this key runs runctl VERB [ARGS]")
	}
	need, ok := serveSSHVerbs[verb.Name]
	if !ok {
		return fmt.Errorf("%s cannot be used through this key", verb.Name)
	}
	if err := c.granted(need, verb.Name); err != nil {
		return err
	}
	for _, p := range kctx.Path {
		if p.Flag == nil {
			continue
		}
		f := p.Flag
		need, ok := serveSSHFlags[f.Name]
		switch {
		case !ok || need == "-":
			return fmt.Errorf("%s cannot be used through this key (-H and the other fleet flags are never honoured on the far side)", flagName(f))
		case need != "":
			if err := c.granted(need, flagName(f)); err != nil {
				return err
			}
		}
	}
	if run, ok := verb.Target.Addr().Interface().(*RunCmd); ok {
		// A systemd unit in --after or --wants is started with the run:
		// any unit of the machine (reboot.target too).
		for _, dep := range slices.Concat(run.After, run.Wants) {
			if units.IsSystemdUnit(dep) {
				if err := c.granted("property", fmt.Sprintf("a systemd unit in --after or --wants (%s)", dep)); err != nil {
					return err
				}
			}
		}
		if !run.CleanEnv {
			if err := c.granted("env", "run without --clean-env (the session's environment)"); err != nil {
				return err
			}
		}
		argv := run.Command // as RunCmd.spec reads it
		if len(argv) > 0 && argv[0] == "--" {
			argv = argv[1:]
		}
		if len(argv) == 0 || !slices.Contains(c.AllowProgram, argv[0]) {
			prog := ""
			if len(argv) > 0 {
				prog = argv[0]
			}
			if len(c.AllowProgram) == 0 {
				return fmt.Errorf("program %q is not allowed: this key allows no program (add --allow-program PATH to its command= in authorized_keys)", prog)
			}
			return fmt.Errorf("program %q is not allowed: this key allows only %s, named by that path", prog, strings.Join(c.AllowProgram, ", "))
		}
	}
	return nil
}

// granted says why what (a verb or a flag) is refused unless the key's
// command grants need.
func (c *ServeSSHCmd) granted(need, what string) error {
	if need == "" || slices.Contains(c.Allow, need) {
		return nil
	}
	return fmt.Errorf("%s needs --allow %s in this key's command= in authorized_keys", what, need)
}

func flagName(f *kong.Flag) string {
	return "--" + f.Name
}
