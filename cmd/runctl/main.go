// Command runctl runs, restarts, inspects and autostarts programs as
// systemd units.
package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"

	"github.com/runctl/runctl/cli"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// One thread runs Go code: runctl mostly waits on systemd, and a
	// second one only hands each D-Bus reply across threads (a run, status,
	// stop and rm: 9 % less CPU, 4 % sooner). ls gets more while it reads
	// many control groups. GOMAXPROCS overrides it.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// A soft cap, so that the garbage collector runs before the heap of a
	// listing of a thousand runs doubles (~20 -> ~16 MB peak RSS at no
	// measurable time); GOMEMLIMIT overrides it.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(16 << 20)
	}
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
