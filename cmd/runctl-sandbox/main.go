// Command runctl-sandbox boots a throwaway systemd (see package sandbox),
// runs one command inside it and powers it off: how the demo and the
// benchmarks reach a real systemd on machines whose PID 1 is not systemd.
//
//	runctl-sandbox [--bin DIR] [--target UNIT] -- CMD [ARG...]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/runctl/runctl/sandbox"
)

func main() {
	bin := flag.String("bin", "", "folder put first on PATH inside (e.g. where runctl was built)")
	target := flag.String("target", "basic.target", "unit to boot")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: runctl-sandbox [--bin DIR] [--target UNIT] -- CMD [ARG...]")
		os.Exit(2)
	}
	os.Exit(run(*bin, *target, flag.Args()))
}

func run(bin, target string, argv []string) int {
	sb, err := sandbox.Boot(context.Background(), sandbox.Options{Target: target})
	if err != nil {
		fmt.Fprintf(os.Stderr, "runctl-sandbox: %v\n", err)
		return 1
	}
	defer sb.Close()
	cwd, _ := os.Getwd()
	cmd := sb.CommandIn(context.Background(), cwd, argv[0], argv[1:]...)
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	if bin != "" {
		abs, _ := filepath.Abs(bin)
		path = abs + ":" + path
	}
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
