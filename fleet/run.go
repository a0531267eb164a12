package fleet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Protocol is the version of the remote contract: the remote runctl, run
// with --fleet-protocol=N, prints one Envelope. A runctl that knows only
// older versions refuses a newer N, and one without fleet support refuses
// the flag; either is reported per host with the fix.
const Protocol = 1

// protocolFlag is the remote runctl's global flag that asks for an Envelope.
const protocolFlag = "--fleet-protocol"

// Envelope is what the remote runctl prints under --fleet-protocol: the
// verb's exit code, its error, and its own --json output.
type Envelope struct {
	Protocol int             `json:"fleet_protocol"`
	Version  string          `json:"version"`
	Exit     int             `json:"exit"`
	Error    string          `json:"error,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
}

// Outcome is how a host ended.
type Outcome string

// The outcomes: ok; failed (the remote runctl ran and failed, or could not
// run); unreachable (ssh could not connect or log in); timeout (no answer
// within --host-timeout); skipped (not touched: --max-fail stopped the roll).
const (
	OK          Outcome = "ok"
	Failed      Outcome = "failed"
	Unreachable Outcome = "unreachable"
	TimedOut    Outcome = "timeout"
	Skipped     Outcome = "skipped"
)

// outcomeOrder in the order summaries list them.
var outcomeOrder = []Outcome{OK, Failed, Unreachable, TimedOut, Skipped}

// Result is one host's record.
type Result struct {
	Host    string          `json:"host"`
	Outcome Outcome         `json:"outcome"`
	Error   string          `json:"error,omitempty"`
	Exit    *int            `json:"exit,omitempty"` // the remote runctl's exit code, when it ran
	Result  json.RawMessage `json:"result,omitempty"`
	TookSec float64         `json:"took_sec"`
}

// Options say how to reach hosts and how many at a time.
type Options struct {
	SSH          []string // the ssh command words (SSHCommand)
	ControlDir   string   // ssh control sockets; empty: no connection sharing
	Parallel     int      // hosts at a time
	Serial       Count    // batch size; unset: one batch
	MaxFail      Count    // failures tolerated before the next batch; unset: 0
	HostTimeout  time.Duration
	RemoteRunctl string // the remote command; "runctl" finds it on the PATH
	// Stdin, if set, is what every host's runctl reads on its stdin (the
	// stack file of apply -); otherwise it reads nothing.
	Stdin []byte
	// Progress, if set, is called after every host that finishes.
	Progress func(Progress)
}

// Progress is the state of a fleet operation, for a live view.
type Progress struct {
	Batch, Batches int
	Done, Total    int
	Counts         map[Outcome]int
}

// Run runs `runctl --fleet-protocol=N args...` on every target: in batches
// of --serial (all at once without), at most Parallel at a time. After a
// batch in which more than MaxFail hosts have failed in total, the hosts
// not yet touched are skipped. Results are in target order.
func Run(ctx context.Context, o Options, targets []Target, args []string) []Result {
	results := make([]Result, len(targets))
	size := len(targets)
	if o.Serial.Set {
		size = max(1, o.Serial.Of(len(targets)))
	}
	maxFail := o.MaxFail.Of(len(targets))
	batches := (len(targets) + size - 1) / size
	remote := quoteWords(append([]string{o.RemoteRunctl, fmt.Sprintf("%s=%d", protocolFlag, Protocol)}, args...))
	counts := map[Outcome]int{}
	var mu sync.Mutex
	failed, done := 0, 0
	for b := 0; b < batches; b++ {
		lo, hi := b*size, min(len(targets), (b+1)*size)
		if failed > maxFail {
			for i := lo; i < len(targets); i++ {
				results[i] = Result{Host: targets[i].Name, Outcome: Skipped, Error: fmt.Sprintf("not touched: %d hosts failed before, more than --max-fail %d", failed, maxFail)}
				counts[Skipped]++
			}
			break
		}
		sem := make(chan struct{}, max(1, o.Parallel))
		var wg sync.WaitGroup
		for i := lo; i < hi; i++ {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				r := o.one(ctx, targets[i], remote)
				mu.Lock()
				defer mu.Unlock()
				results[i] = r
				counts[r.Outcome]++
				done++
				if r.Outcome != OK {
					failed++
				}
				if o.Progress != nil {
					o.Progress(Progress{Batch: b + 1, Batches: batches, Done: done, Total: len(targets), Counts: counts})
				}
			}()
		}
		wg.Wait()
	}
	return results
}

// one runs the remote command on t and classifies how it went.
func (o *Options) one(ctx context.Context, t Target, remote string) Result {
	start := time.Now()
	hctx, cancel := context.WithTimeout(ctx, o.HostTimeout)
	defer cancel()
	argv := o.sshArgs(hctx, t, remote)
	cmd := exec.CommandContext(hctx, argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if o.Stdin != nil {
		cmd.Stdin = bytes.NewReader(o.Stdin)
	}
	// A control master that ssh forks off keeps no pipe of ours, but never
	// let a stray holder of one keep the host from finishing.
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	r := o.classify(t, err, hctx, stdout.Bytes(), stderr.Bytes())
	r.TookSec = time.Since(start).Seconds()
	return r
}

func (o *Options) classify(t Target, err error, hctx context.Context, stdout, stderr []byte) Result {
	r := Result{Host: t.Name}
	var env Envelope
	if json.Unmarshal(stdout, &env) == nil && env.Protocol != 0 {
		r.Result, r.Exit = env.Result, &env.Exit
		if env.Exit == 0 {
			r.Outcome = OK
		} else {
			r.Outcome, r.Error = Failed, env.Error
			if r.Error == "" {
				r.Error = fmt.Sprintf("runctl exited with status %d", env.Exit)
			}
		}
		return r
	}
	code := -1
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	}
	switch {
	case errors.Is(hctx.Err(), context.DeadlineExceeded):
		r.Outcome, r.Error = TimedOut, fmt.Sprintf("no answer within %v (--host-timeout)", o.HostTimeout)
	case hctx.Err() != nil:
		r.Outcome, r.Error = Failed, "interrupted"
	default:
		r.Outcome, r.Error = o.diagnose(code, err, stderr)
	}
	return r
}

// diagnose explains a remote command that printed no envelope.
func (o *Options) diagnose(code int, err error, stderr []byte) (Outcome, string) {
	msg := lastLine(stderr)
	switch {
	case code == 255:
		if msg == "" {
			msg = "ssh failed"
		}
		return Unreachable, msg
	case code == 127 || strings.Contains(msg, "command not found") || strings.Contains(msg, "No such file or directory"):
		if o.RemoteRunctl == "runctl" {
			return Failed, "runctl is not on the remote PATH: install it there (same version as here), or pass --remote-runctl PATH"
		}
		return Failed, fmt.Sprintf("%s is not on this host: install runctl there, or fix --remote-runctl", o.RemoteRunctl)
	case strings.Contains(msg, "unknown flag "+protocolFlag) || strings.Contains(msg, "unexpected flag "+protocolFlag):
		return Failed, "the remote runctl predates fleet support: install this runctl version there"
	case code == -1 && err != nil:
		return Failed, fmt.Sprintf("cannot run ssh: %v", err)
	case msg == "":
		return Failed, fmt.Sprintf("the remote command exited with status %d and printed no result", code)
	}
	return Failed, msg
}

// Stream runs `runctl args...` (no envelope: text) on every target at once,
// for output that lasts (logs -f, attached runs), calling line for each
// line of output as it arrives. Parallel does not bound it: every host must
// be followed at the same time.
func Stream(ctx context.Context, o Options, targets []Target, args []string, line func(host string, text string)) []Result {
	results := make([]Result, len(targets))
	remote := quoteWords(append([]string{o.RemoteRunctl}, args...))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			argv := o.sshArgs(ctx, t, remote)
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			cmd.WaitDelay = 2 * time.Second
			out, err := cmd.StdoutPipe()
			if err == nil {
				err = cmd.Start()
			}
			var readErr error
			if err == nil {
				rd := bufio.NewReaderSize(out, 64<<10)
				for {
					text, err := readLine(rd)
					if err == nil || (err == io.EOF && text != "") {
						mu.Lock()
						line(t.Name, text)
						mu.Unlock()
					}
					if err != nil {
						if err != io.EOF {
							readErr = err
						}
						break
					}
				}
				io.Copy(io.Discard, out)
				err = cmd.Wait()
			}
			r := Result{Host: t.Name, Outcome: OK}
			var exit *exec.ExitError
			switch {
			case ctx.Err() != nil:
				// Ended by the user (Ctrl-C on logs -f): not a failure.
			case readErr != nil:
				r.Outcome, r.Error = Failed, fmt.Sprintf("cannot relay the output: %v", readErr)
			case errors.As(err, &exit):
				r.Outcome, r.Error = o.diagnose(exit.ExitCode(), err, stderr.Bytes())
				if r.Outcome == Failed && lastLine(stderr.Bytes()) == "" {
					r.Error = fmt.Sprintf("exit status %d", exit.ExitCode())
				}
			case err != nil:
				r.Outcome, r.Error = Failed, fmt.Sprintf("cannot run ssh: %v", err)
			}
			r.TookSec = time.Since(start).Seconds()
			results[i] = r
		}()
	}
	wg.Wait()
	return results
}

// maxLine bounds one line relayed by Stream: a longer one fails the host,
// rather than being cut or dropped with what follows.
const maxLine = 256 << 20

// readLine reads one line of any length up to maxLine, without its "\n"
// (and a "\r" before it), as bufio.ScanLines does.
func readLine(r *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if err == bufio.ErrBufferFull {
			if len(buf) > maxLine {
				return "", fmt.Errorf("a line longer than %d MB", maxLine>>20)
			}
			continue
		}
		return strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r"), err
	}
}

// Summary counts outcomes: "3 ok, 1 failed, 1 unreachable".
func Summary(results []Result) string {
	counts := map[Outcome]int{}
	for _, r := range results {
		counts[r.Outcome]++
	}
	return CountsText(counts)
}

// CountsText renders outcome counts in a fixed order, leaving out zeros.
func CountsText(counts map[Outcome]int) string {
	var parts []string
	for _, o := range outcomeOrder {
		if n := counts[o]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	return strings.Join(parts, ", ")
}

// AllOK says whether every host succeeded.
func AllOK(results []Result) bool {
	for _, r := range results {
		if r.Outcome != OK {
			return false
		}
	}
	return true
}
