package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// runner starts processes, timing each from fork to exit.
type runner struct {
	dir     string   // scratch folder: stamps of the stop-latency runs
	devnull *os.File // stdout of every timed process
	stderr  *os.File // stderr of the timed process, kept for error messages
}

// sample is one timed process.
type sample struct {
	took   time.Duration
	end    time.Time     // when it had exited and been reaped
	maxRSS int64         // peak resident set, KiB
	cpu    time.Duration // user and system CPU time
}

// newRunner opens what every timed process gets. Files go under dir (in the
// sandbox's own /run, never the host's /tmp).
func newRunner(dir string) (*runner, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cannot create the scratch folder: %w", err)
	}
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", os.DevNull, err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		return nil, fmt.Errorf("cannot create the stderr file: %w", err)
	}
	return &runner{dir: dir, devnull: devnull, stderr: stderr}, nil
}

// timed runs argv, with env added to the environment, stdout to /dev/null
// and stderr to a file: both are plain descriptors, so no copying
// goroutine runs while the clock does. The command is looked up on PATH
// before the clock starts.
func (r *runner) timed(argv, env []string) (sample, error) {
	if err := r.stderr.Truncate(0); err != nil {
		return sample{}, fmt.Errorf("cannot reset the stderr file: %w", err)
	}
	if _, err := r.stderr.Seek(0, 0); err != nil {
		return sample{}, fmt.Errorf("cannot reset the stderr file: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = r.devnull, r.stderr
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	start := time.Now()
	err := cmd.Run()
	end := time.Now()
	if err != nil {
		msg, _ := os.ReadFile(r.stderr.Name())
		return sample{}, fmt.Errorf("cannot run %s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(msg)))
	}
	s := sample{took: end.Sub(start), end: end}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		s.maxRSS = ru.Maxrss
		s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return s, nil
}

// run runs argv untimed and returns its stdout.
func (r *runner) run(argv ...string) (string, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("cannot run %s: %v: %s", strings.Join(argv, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// hasVerb says whether this runctl has the verb: `runctl VERB --help`
// succeeds. The verbs being added are reported n/a until they are.
func hasVerb(verb string) bool {
	cmd := exec.Command("runctl", verb, "--help")
	return cmd.Run() == nil
}
