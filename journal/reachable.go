package journal

import (
	"fmt"
	"net"
)

// stdoutSocket is where systemd connects a unit's stdout to journald.
const stdoutSocket = "/run/systemd/journal/stdout"

// Reachable says whether journald takes output now. If it does not,
// systemd connects a starting unit's stdout and stderr to /dev/null.
func Reachable() error {
	c, err := net.Dial("unix", stdoutSocket)
	if err != nil {
		return fmt.Errorf("journald is not running: %w", err)
	}
	return c.Close()
}
