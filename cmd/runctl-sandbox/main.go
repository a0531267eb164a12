// Command runctl-sandbox boots a throwaway systemd (see package sandbox),
// runs one command inside it and powers it off: how the demo and the
// benchmarks reach a real systemd on machines whose PID 1 is not systemd.
//
//	runctl-sandbox [--bin DIR] [--target UNIT] [--suite SUITE] -- CMD [ARG...]
//	runctl-sandbox --suite SUITE --root-only
//
// --suite boots the systemd of a Debian release (bullseye: 247, trixie:
// 257, sid: the newest) from a root built with debootstrap on first use
// and cached (sandbox.EnsureRoot), instead of the host's. --root-only
// builds that root if it is missing or stale, and boots nothing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/runctl/runctl/sandbox"
)

func main() {
	bin := flag.String("bin", "", "folder put first on PATH inside (e.g. where runctl was built)")
	target := flag.String("target", "basic.target", "unit to boot")
	suite := flag.String("suite", "", "boot the systemd of this Debian release (bullseye, bookworm, trixie, sid) instead of the host's")
	rootOnly := flag.Bool("root-only", false, "with --suite: build the cached root if needed, boot nothing")
	flag.Parse()
	if *rootOnly {
		if _, err := sandbox.EnsureRoot(*suite); err != nil {
			fmt.Fprintf(os.Stderr, "runctl-sandbox: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: runctl-sandbox [--bin DIR] [--target UNIT] [--suite SUITE] -- CMD [ARG...]")
		os.Exit(2)
	}
	os.Exit(run(*bin, *target, *suite, flag.Args()))
}

func run(bin, target, suite string, argv []string) int {
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	var share []string
	if bin != "" {
		// Inside, /tmp is a fresh tmpfs, and a checkout is often under
		// /tmp: the binaries are copied to where the sandbox sees them.
		staged, err := stage(bin)
		if err != nil {
			fmt.Fprintf(os.Stderr, "runctl-sandbox: %v\n", err)
			return 1
		}
		defer os.RemoveAll(staged)
		path = staged + ":" + path
		share = append(share, staged) // a --suite root does not have it
	}
	sb, err := sandbox.Boot(context.Background(), sandbox.Options{Target: target, Suite: suite, Share: share})
	if err != nil {
		fmt.Fprintf(os.Stderr, "runctl-sandbox: %v\n", err)
		return 1
	}
	defer sb.Close()
	cwd, _ := os.Getwd()
	if _, err := os.Stat(sb.Path(cwd)); err != nil || cwd == "/tmp" || strings.HasPrefix(cwd, "/tmp/") {
		cwd = "/" // not there inside (a --suite root has none of the host's folders)
	}
	cmd := sb.CommandIn(context.Background(), cwd, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "PATH="+path)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		return exit.ExitCode()
	case err != nil:
		fmt.Fprintf(os.Stderr, "runctl-sandbox: %v\n", err)
		return 1
	}
	return 0
}

// stage copies the files of dir into a new folder under the sandboxes'
// state root, which the sandbox sees at the same path, and returns it.
func stage(dir string) (string, error) {
	root := sandbox.StateRoot()
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", fmt.Errorf("cannot stage %s: %w", dir, err)
	}
	staged, err := os.MkdirTemp(root, "bin-")
	if err != nil {
		return "", fmt.Errorf("cannot stage %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	for _, e := range ents {
		if err != nil || !e.Type().IsRegular() {
			continue
		}
		var data []byte
		if data, err = os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			err = os.WriteFile(filepath.Join(staged, e.Name()), data, 0o755)
		}
	}
	if err != nil {
		os.RemoveAll(staged)
		return "", fmt.Errorf("cannot stage %s: %w", dir, err)
	}
	return staged, nil
}
