// Package clitest helps tests that run the runctl binary as a user types it.
package clitest

import (
	"errors"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/runctl/runctl/cli"
)

// model is runctl's command line as kong sees it, built once.
var model = sync.OnceValue(func() *kong.Application {
	return cli.Parser(&cli.CLI{}, "test").Model
})

// NoSettle returns args with --settle=0 after the verb when the verb has a
// --settle window (run, start, restart) and args do not set one: a test
// that is not about settling does not wait the default second for each
// start. A test about the window gives --settle itself. Global flags may
// come before the verb; after "--" nothing is looked at.
func NoSettle(args []string) []string {
	app := model()
	valued := map[string]bool{}
	for _, f := range app.Flags {
		if !f.IsBool() && !f.IsCounter() {
			valued["--"+f.Name] = true
			if f.Short != 0 {
				valued["-"+string(f.Short)] = true
			}
		}
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return args
		}
		if strings.HasPrefix(a, "-") {
			if valued[a] {
				i++ // its value
			}
			continue
		}
		verb := command(app, a)
		if verb == nil || !slices.ContainsFunc(verb.Flags, func(f *kong.Flag) bool { return f.Name == "settle" }) {
			return args
		}
		for _, b := range args[i+1:] {
			if b == "--" {
				break
			}
			if b == "--settle" || strings.HasPrefix(b, "--settle=") {
				return args
			}
		}
		return slices.Concat(args[:i+1], []string{"--settle=0"}, args[i+1:])
	}
	return args
}

// command is the verb named a (or by one of its aliases), nil if none is.
func command(app *kong.Application, a string) *kong.Node {
	for _, c := range app.Children {
		if c.Name == a || slices.Contains(c.Aliases, a) {
			return c
		}
	}
	return nil
}

// ExitCode is a finished command's exit code as a shell reports it (128+N
// if a signal N killed it), or -1 if it did not run.
func ExitCode(err error) int {
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	}
	return -1
}
