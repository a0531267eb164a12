package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/fleet"
	"github.com/runctl/runctl/stack"
)

// FleetFlags are the global flags of `runctl -H`: the local runctl reads
// them and never passes them on.
type FleetFlags struct {
	Host         []string      `short:"H" name:"host" sep:"," help:"Run the verb on these hosts over ssh instead of here: ssh destinations (robot-1, user@10.0.0.5, ssh://user@host:2222) or @GROUP from the inventory; comma-separated, repeatable." placeholder:"HOSTS"`
	Inventory    string        `help:"Ansible inventory (INI or YAML) for -H @GROUP (default: ~/.config/runctl/hosts, then /etc/runctl/hosts)." placeholder:"FILE" type:"path"`
	Parallel     int           `short:"j" help:"With -H: hosts at a time." default:"16"`
	Serial       string        `help:"With -H: roll in batches of N hosts or N% of them, in the order given." placeholder:"N|N%"`
	MaxFail      string        `help:"With -H: failed hosts tolerated; once more have failed, the next batches are skipped (default 0)." placeholder:"N|N%"`
	HostTimeout  time.Duration `help:"With -H: a host that has not answered after this long is given up (timeout)." default:"30s"`
	RemoteRunctl string        `help:"With -H: the runctl to run on each host." default:"runctl" placeholder:"PATH"`
	// The remote side of -H: print one fleet.Envelope (see README, Fleet).
	FleetProtocol int `name:"fleet-protocol" hidden:""`
}

// fleetOnly are the flags the remote runctl must not see; --json is
// replaced by the envelope.
var fleetOnly = map[string]bool{"host": true, "inventory": true, "parallel": true, "serial": true, "max-fail": true,
	"host-timeout": true, "remote-runctl": true, "fleet-protocol": true, "json": true}

// fanOut runs the parsed verb on every -H host and prints the merged result.
func fanOut(ctx context.Context, kctx *kong.Context, globals *Globals, args []string, out *Output, log zerolog.Logger) int {
	fail := func(err error) int {
		fmt.Fprintf(out.Stderr, "runctl: %v\n", err)
		return 2
	}
	verb := kctx.Selected()
	if verb == nil || verb.Name == "serve-ssh" {
		return fail(fmt.Errorf("-H needs a verb to run on the hosts (run, ls, status, stop, restart, start, rm, enable, disable, logs, apply)"))
	}
	remote, err := remoteArgs(kctx, args)
	if err != nil {
		return fail(err)
	}
	// apply sends the file's content: each host's runctl reads it on its
	// stdin (apply -), never a path of its own.
	var stdin []byte
	if apply, ok := verb.Target.Addr().Interface().(*ApplyCmd); ok {
		if stdin, err = apply.content(); err != nil {
			return fail(err)
		}
		if _, err := stack.Parse(stdin); err != nil {
			return fail(err)
		}
	}
	f := &globals.FleetFlags
	serial, err := fleet.ParseCount("--serial", f.Serial)
	if err != nil {
		return fail(err)
	}
	maxFail, err := fleet.ParseCount("--max-fail", f.MaxFail)
	if err != nil {
		return fail(err)
	}
	if f.Parallel < 1 || f.HostTimeout <= 0 {
		return fail(fmt.Errorf("-j and --host-timeout must be positive"))
	}
	// Every host is known, and every group exists, before any is touched.
	targets, err := fleet.Resolve(f.Host, f.Inventory)
	if err != nil {
		return fail(err)
	}
	sshCmd, err := fleet.SSHCommand()
	if err != nil {
		return fail(err)
	}
	// A control folder another user could reach is refused, not worked
	// around: the commands and their -E values go through its sockets.
	ctl, err := fleet.ControlDir()
	if err != nil {
		return fail(err)
	}
	o := fleet.Options{SSH: sshCmd, ControlDir: ctl, Parallel: f.Parallel, Serial: serial, MaxFail: maxFail,
		HostTimeout: f.HostTimeout, RemoteRunctl: f.RemoteRunctl, Stdin: stdin}

	// logs and attached runs print as they go: their lines are relayed.
	run, _ := verb.Target.Addr().Interface().(*RunCmd)
	if verb.Name == "logs" || (run != nil && !run.Daemon) {
		// The hosts' logs reach a terminal escaped, as local ones do
		// (lineWriter); an attached run's output is the user's own.
		logs, _ := verb.Target.Addr().Interface().(*LogsCmd)
		escape := logs != nil && logs.Output != "cat" && isTerminal(out.Stdout)
		return stream(ctx, out, o, targets, remote, escape)
	}
	if serial.Set && isTerminal(out.Stderr) {
		o.Progress = func(p fleet.Progress) {
			fmt.Fprintf(out.Stderr, "\r\033[K[batch %d/%d] %d/%d hosts: %s", p.Batch, p.Batches, p.Done, p.Total, fleet.CountsText(p.Counts))
		}
	}
	results := fleet.Run(ctx, o, targets, remote)
	if o.Progress != nil {
		fmt.Fprint(out.Stderr, "\r\033[K")
	}
	if verb.Name == "status" {
		// A run that is not running is an answer, shown in its STATE.
		for i, r := range results {
			if r.Exit != nil && *r.Exit == statusNotRunning {
				results[i].Outcome, results[i].Error = fleet.OK, ""
			}
		}
	}
	if out.JSON {
		if verb.Name == "ls" {
			tagRuns(results)
		}
		out.PrintJSON(results)
	} else {
		printFleet(out.Stdout, verb.Name, results)
	}
	if !fleet.AllOK(results) {
		return 1
	}
	return 0
}

// stream relays a streaming verb's lines, each prefixed by its host
// (coloured on a terminal); --json lines get a "host" field instead.
func stream(ctx context.Context, out *Output, o fleet.Options, targets []fleet.Target, remote []string, escape bool) int {
	if out.JSON {
		remote = append([]string{"--json"}, remote...)
	} else if i := slices.Index(remote, "logs"); i >= 0 {
		remote = slices.Insert(remote, i+1, "--no-hostname") // the prefix names the host
	}
	width := 0
	for _, t := range targets {
		width = max(width, len(t.Name))
	}
	colour := map[string]string{}
	if useColour(out.Stdout) {
		palette := []string{"36", "33", "35", "32", "34", "91", "96", "93"}
		for i, t := range targets {
			colour[t.Name] = palette[i%len(palette)]
		}
	}
	results := fleet.Stream(ctx, o, targets, remote, func(host, text string) {
		if escape && !out.JSON {
			text = string(escapeControl([]byte(text), false))
		}
		switch {
		case out.JSON:
			if strings.HasPrefix(text, "{") {
				h, _ := json.Marshal(host)
				text = `{"host":` + string(h) + "," + strings.TrimPrefix(text, "{")
				if text[len(text)-2:] == ",}" {
					text = text[:len(text)-2] + "}"
				}
			}
			fmt.Fprintln(out.Stdout, text)
		case colour[host] != "":
			fmt.Fprintf(out.Stdout, "\033[%sm%-*s\033[0m | %s\n", colour[host], width, host, text)
		default:
			fmt.Fprintf(out.Stdout, "%-*s | %s\n", width, host, text)
		}
	})
	if !fleet.AllOK(results) || len(results) > 1 {
		for _, r := range results {
			if r.Outcome != fleet.OK {
				fmt.Fprintf(out.Stderr, "%s: %s: %s\n", r.Host, r.Outcome, r.Error)
			}
		}
		fmt.Fprintln(out.Stderr, fleet.Summary(results))
	}
	if !fleet.AllOK(results) {
		return 1
	}
	return 0
}

// remoteArgs is the command line without the flags only the local runctl
// reads. The kong model says which flags take a value, so a value is never
// taken for a flag or a verb; after "--", and from run's command on,
// everything passes verbatim; apply's FILE becomes "-" (its content goes on
// stdin). run gets --clean-env: -H never sends the
// local environment or directory (the remote runctl does not have them).
func remoteArgs(kctx *kong.Context, args []string) ([]string, error) {
	node := kctx.Selected()
	flags := map[string]*kong.Flag{}
	for _, group := range node.AllFlags(false) {
		for _, f := range group {
			flags["--"+f.Name] = f
			for _, a := range f.Aliases {
				flags["--"+a] = f
			}
			if f.Short != 0 {
				flags["-"+string(f.Short)] = f
			}
		}
	}
	var out []string
	seenVerb := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if seenVerb && node.Name == "run" {
				out = append(out, "--")
				out = append(out, args[i:]...)
				break
			}
			if !seenVerb && (a == node.Name || slices.Contains(node.Aliases, a)) {
				seenVerb = true
				out = append(out, node.Name)
				if node.Name == "run" {
					out = append(out, "--clean-env")
				}
				continue
			}
			if seenVerb && node.Name == "apply" {
				a = "-"
			}
			out = append(out, a)
			continue
		}
		name, _, inline := strings.Cut(a, "=")
		f := flags[name]
		if f == nil && !strings.HasPrefix(a, "--") && len(a) > 2 {
			// Short flags run together, as kong reads them: -df, -j4,
			// -qHrobot-2. Each is passed on or dropped on its own; one
			// that takes a value takes the rest of the word, or the next.
			for rest := a[1:]; rest != ""; {
				short := "-" + rest[:1]
				f := flags[short]
				if f == nil {
					return nil, fmt.Errorf("cannot pass %q on to the hosts: unknown flag %s", a, short)
				}
				drop := fleetOnly[f.Name]
				if f.IsBool() || f.IsCounter() {
					if !drop {
						out = append(out, short)
					}
					rest = rest[1:]
					continue
				}
				value := rest[1:]
				if value == "" && i+1 < len(args) {
					i++
					value = args[i]
				}
				if !drop {
					out = append(out, short, value)
				}
				rest = ""
			}
			continue
		}
		if f == nil {
			return nil, fmt.Errorf("cannot pass %q on to the hosts: unknown flag", a)
		}
		takesValue := !f.IsBool() && !f.IsCounter()
		if _, optional := f.Target.Addr().Interface().(*bootFlag); optional {
			takesValue = i+1 < len(args) && isBoot(args[i+1]) // as bootFlag.Decode
		}
		drop := fleetOnly[f.Name]
		if !drop {
			out = append(out, a)
		}
		if takesValue && !inline && i+1 < len(args) {
			i++
			if !drop {
				out = append(out, args[i])
			}
		}
	}
	return out, nil
}

// tagRuns gives each run of an ls result the host it is on.
func tagRuns(results []fleet.Result) {
	for i, r := range results {
		var runs []map[string]any
		if len(r.Result) == 0 || json.Unmarshal(r.Result, &runs) != nil {
			continue
		}
		for _, run := range runs {
			run["host"] = r.Host
		}
		results[i].Result, _ = json.Marshal(runs)
	}
}

// printFleet is the text output of an enveloped verb across hosts: ls and
// status as one table with a HOST column, other verbs one line per host;
// hosts that did not succeed, then the summary.
func printFleet(w io.Writer, verb string, results []fleet.Result) {
	tw := newTable(w)
	if verb == "ls" || verb == "status" {
		fmt.Fprintln(tw, "HOST\tNAME\tSTATE\tPID\tUPTIME\tCPU\tMEM\tCOMMAND")
		for _, r := range results {
			var runs []Status
			if r.Outcome != fleet.OK || json.Unmarshal(r.Result, &runs) != nil {
				continue
			}
			for _, run := range runs {
				pid, up := pidUptime(run.Run)
				state := run.State
				if run.LastExit != "" && run.State != "active" {
					state += " (" + run.LastExit + ")"
				}
				cpu, mem := usageCells(run.Run)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Host, run.Name, state, pid, up, cpu, mem, truncate(quoteArgv(run.Command), 60))
			}
		}
		for _, r := range results {
			if r.Outcome != fleet.OK {
				fmt.Fprintf(tw, "%s\t%s: %s\n", r.Host, r.Outcome, r.Error)
			}
		}
	} else {
		for _, r := range results {
			detail := r.Error
			if r.Outcome == fleet.OK {
				detail = describeResult(r.Result)
			} else if d := describeResult(r.Result); d != "" {
				detail += ": " + d
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Host, r.Outcome, detail)
		}
	}
	tw.Flush()
	fmt.Fprintln(w, fleet.Summary(results))
}

// describeResult is a short line from a verb's JSON: the run's name, pid
// and how the old instance ended, when those are there.
func describeResult(raw json.RawMessage) string {
	var one map[string]any
	var many []map[string]any
	if json.Unmarshal(raw, &many) == nil {
		return fmt.Sprintf("%d runs", len(many))
	}
	if json.Unmarshal(raw, &one) != nil {
		return ""
	}
	if _, ok := one["stack"]; ok {
		return describeApplied(raw)
	}
	var parts []string
	if n, ok := one["name"].(string); ok {
		parts = append(parts, n)
	}
	if p, ok := one["pid"].(float64); ok && p > 0 {
		parts = append(parts, fmt.Sprintf("pid %d", int(p)))
	}
	if s, ok := one["ended"].(string); ok && s != "" {
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// describeApplied is a short line from apply's JSON: the stack, how many
// runs had each result, and the first failure.
func describeApplied(raw json.RawMessage) string {
	var rep applyReport
	if json.Unmarshal(raw, &rep) != nil {
		return ""
	}
	counts := map[string]int{}
	var order []string
	failure := ""
	for _, a := range rep.Runs {
		res := a.Result
		if rep.DryRun {
			res = a.Action
		}
		if counts[res] == 0 {
			order = append(order, res)
		}
		counts[res]++
		if failure == "" && a.Error != "" {
			failure = a.Name + ": " + strings.SplitN(a.Error, "\n", 2)[0]
		}
	}
	var parts []string
	for _, res := range order {
		parts = append(parts, fmt.Sprintf("%d %s", counts[res], res))
	}
	line := "stack " + rep.Stack + ": " + strings.Join(parts, ", ")
	if failure != "" {
		line += " (" + failure + ")"
	}
	return line
}

func quoteArgv(argv []string) string {
	if len(argv) == 0 {
		return "?"
	}
	return strings.Join(argv, " ")
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// envelope runs the verb for a fleet caller: --json output captured into
// one fleet.Envelope with the exit code and error.
func envelope(ctx context.Context, kctx *kong.Context, globals *Globals, args []string, out *Output, version string) int {
	stdout := out.Stdout
	env := fleet.Envelope{Protocol: fleet.Protocol, Version: version}
	if globals.FleetProtocol > fleet.Protocol {
		env.Exit, env.Error = 1, fmt.Sprintf("this runctl (%s) speaks fleet protocol %d, the caller needs %d: install the caller's runctl version here", version, fleet.Protocol, globals.FleetProtocol)
	} else {
		var buf bytes.Buffer
		out.Stdout, out.JSON = &buf, true
		code, err, _ := verbExit(runVerb(ctx, kctx, globals, args, out))
		env.Exit = code
		if err != nil {
			env.Error = err.Error()
		}
		if b := bytes.TrimSpace(buf.Bytes()); json.Valid(b) {
			env.Result = b
		} else if len(b) > 0 {
			env.Result, _ = json.Marshal(string(b))
		}
	}
	json.NewEncoder(stdout).Encode(env)
	return env.Exit
}
