package cli

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/units"
)

// attachStdin prepares what an attached run reads with -i: a pipe or file
// on runctl's stdin is passed to the program as it is; a terminal is
// relayed through a new pty, which becomes the program's controlling
// terminal, so line editing, Ctrl-C and raw key reads (teleop) work. The
// program's stdout and stderr stay in the journal either way, and reach the
// terminal from there. done restores the terminal.
func attachStdin() (in *units.Stdin, done func(), err error) {
	saved, err := unix.IoctlGetTermios(0, unix.TCGETS)
	if err != nil {
		return &units.Stdin{FD: 0}, func() {}, nil // not a terminal
	}
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open a pty for -i: %w", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("cannot unlock the pty for -i: %w", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("cannot name the pty for -i: %w", err)
	}
	if ws, err := unix.IoctlGetWinsize(0, unix.TIOCGWINSZ); err == nil {
		_ = unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, ws)
	}
	// Keys go to the pty as typed: its own line discipline edits and
	// echoes, and turns Ctrl-C into the program's SIGINT. Output keeps its
	// processing, for the journal lines runctl prints meanwhile.
	raw := *saved
	raw.Iflag &^= unix.ICRNL | unix.IXON | unix.INLCR | unix.IGNCR | unix.ISTRIP
	raw.Lflag &^= unix.ICANON | unix.ECHO | unix.ISIG | unix.IEXTEN
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(0, unix.TCSETS, &raw); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("cannot set your terminal up for -i: %w", err)
	}
	go io.Copy(master, os.Stdin)
	go io.Copy(os.Stdout, master) // the pty's echo, and what the program writes to it
	return &units.Stdin{FD: -1, TTY: fmt.Sprintf("/dev/pts/%d", n)}, func() {
		_ = unix.IoctlSetTermios(0, unix.TCSETS, saved)
		master.Close()
	}, nil
}
