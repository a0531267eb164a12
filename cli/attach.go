package cli

import (
	"os"
	"os/signal"
	"syscall"
)

// hangups are the signals that tell an attached runctl its terminal is
// gone: SIGHUP (terminal closed, ssh dropped), unless runctl was started
// with it ignored (nohup), and SIGPIPE (output to a closed pipe, which
// would otherwise kill runctl silently and leave the run unattached).
func hangups() []os.Signal {
	if signal.Ignored(syscall.SIGHUP) {
		return []os.Signal{syscall.SIGPIPE}
	}
	return []os.Signal{syscall.SIGHUP, syscall.SIGPIPE}
}
