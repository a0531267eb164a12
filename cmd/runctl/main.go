// Command runctl runs, restarts, inspects and autostarts programs as
// systemd units.
package main

import (
	"os"
	"runtime/pprof"

	"github.com/runctl/runctl/cli"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// RUNCTL_CPUPROFILE=FILE writes a pprof CPU profile of this command.
	if path := os.Getenv("RUNCTL_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			pprof.StartCPUProfile(f)
			code := cli.Main(os.Args[1:], version)
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(code)
		}
	}
	os.Exit(cli.Main(os.Args[1:], version))
}
