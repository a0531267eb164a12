package cli

import (
	"context"
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// outputGone is closed once w, a pipe or a socket, has lost its reader:
// the ssh session of a -H verb ended (Ctrl-C on the local side), or the
// `| head` runctl writes to exited. A writer otherwise learns it only at
// its next write, which a quiet run may not make for hours. It is nil for
// anything else (a terminal, a file, a buffer).
func outputGone(w io.Writer) <-chan struct{} {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return nil
	}
	raw, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var fd int
	if raw.Control(func(p uintptr) { fd = int(p) }) != nil {
		return nil
	}
	gone := make(chan struct{})
	go func() {
		// No events asked: poll returns only for POLLERR (a pipe without
		// reader) or POLLHUP (a socket whose peer closed).
		fds := []unix.PollFd{{Fd: int32(fd)}}
		for {
			n, err := unix.Poll(fds, -1)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil || n == 0:
				return
			case fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0:
				close(gone)
			}
			return
		}
	}()
	return gone
}

// untilOutputGone is ctx, also done once out's stdout has lost its reader.
func untilOutputGone(ctx context.Context, out *Output) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	if gone := outputGone(out.Stdout); gone != nil {
		go func() {
			select {
			case <-gone:
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	return ctx, cancel
}

// hangupWhenOutputGone passes sigs on, and a SIGPIPE once out's stdout has
// lost its reader: an attached run takes it as its terminal gone.
func hangupWhenOutputGone(sigs <-chan os.Signal, out *Output) <-chan os.Signal {
	gone := outputGone(out.Stdout)
	if gone == nil {
		return sigs
	}
	merged := make(chan os.Signal, cap(sigs))
	go func() {
		for {
			select {
			case s := <-sigs:
				merged <- s
			case <-gone:
				merged <- syscall.SIGPIPE
				gone = nil
			}
		}
	}()
	return merged
}
