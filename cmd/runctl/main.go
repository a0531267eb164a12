// Command runctl runs, restarts, inspects and autostarts programs as
// systemd units.
package main

import (
	"os"

	"github.com/runctl/runctl/cli"
)

// version is set at build time: -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(cli.Main(os.Args[1:], version))
}
