package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/runctl/runctl/stack"
	"github.com/runctl/runctl/units"
)

// sourceTimeout bounds a --source file's run: a setup script that waits
// for input or hangs must not hang runctl.
const sourceTimeout = 30 * time.Second

// sourceShells are the shells --source runs, the first one present: bash,
// since ROS's setup.bash and most setup scripts need it, else sh.
var sourceShells = []string{"/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh"}

// sourceEnv is the environment a shell has after sourcing each of files in
// turn, started with env in dir: the environment of a run whose setup
// script (a ROS setup.bash) was sourced first. The script's output goes to
// runctl's stderr; it reads nothing. A script that fails (a non-zero
// status from .) is an error.
func sourceEnv(ctx context.Context, files []string, env []string, dir string) ([]string, error) {
	shell := ""
	for _, s := range sourceShells {
		if _, err := os.Stat(s); err == nil {
			shell = s
			break
		}
	}
	if shell == "" {
		return nil, &sourceError{"", fmt.Sprintf("no shell (%s)", strings.Join(sourceShells, ", "))}
	}
	for i, f := range files {
		if !filepath.IsAbs(f) {
			files[i] = filepath.Join(dir, f)
		}
		if _, err := os.Stat(files[i]); err != nil {
			return nil, usage("invalid --source %s: %v", f, errors.Unwrap(err))
		}
	}
	// Each file is sourced with no arguments ($# is 0, as after
	// `source FILE`): setup scripts read their own arguments. The loop's
	// list is expanded once, before set -- empties it.
	script := `for f in "$@"; do set --; . "$f" >&2 </dev/null || { echo "sourcing $f failed" >&2; exit 100; }; done; exec env -0`
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, append([]string{"-c", script, "runctl-source"}, files...)...)
	cmd.Env, cmd.Dir, cmd.Stderr = env, dir, os.Stderr
	out, err := cmd.Output()
	switch {
	case ctx.Err() != nil:
		return nil, &sourceError{strings.Join(files, " "), fmt.Sprintf("it did not finish within %s", sourceTimeout)}
	case err != nil:
		return nil, &sourceError{strings.Join(files, " "), fmt.Sprintf("%s %v (its output is above)", filepath.Base(shell), err)}
	case !bytes.HasSuffix(out, []byte{0}):
		return nil, &sourceError{strings.Join(files, " "), "no environment came back (does this system's env take -0?)"}
	}
	return units.ParseEnvDump(out), nil
}

// sourceError: the files of --source could not be read, and why.
type sourceError struct{ files, why string }

func (e *sourceError) Error() string {
	if e.files == "" {
		return "cannot read --source: " + e.why
	}
	return "cannot read --source " + e.files + ": " + e.why
}

// stackSource is sourceEnv for a stack file's source key: its errors
// name the key, as apply's "cannot apply stack S: run R: ..." says the rest.
func stackSource(ctx context.Context) stack.SourceFunc {
	return func(files, env []string, dir string) ([]string, error) {
		got, err := sourceEnv(ctx, files, env, dir)
		var se *sourceError
		if errors.As(err, &se) {
			return nil, errors.New(strings.TrimSpace("source "+se.files) + ": " + se.why)
		}
		return got, err
	}
}
