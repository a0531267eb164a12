// Package journal reads a run's output back from the journal. It drives
// journalctl rather than linking libsystemd through cgo (go-systemd's
// sdjournal): the binary stays static, and journalctl already knows every
// journal file layout, namespace and access rule of the host's systemd.
package journal

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// Entry is one line a program wrote, as the journal keeps it.
type Entry struct {
	Message  []byte
	Priority int // syslog level; stdout lines are 6 (info) unless prefixed
	Cursor   string
	Time     time.Time
}

type rawEntry struct {
	Message  json.RawMessage `json:"MESSAGE"`
	Priority string          `json:"PRIORITY"`
	Cursor   string          `json:"__CURSOR"`
	Realtime string          `json:"__REALTIME_TIMESTAMP"`
}

// decode reads journalctl -o json: MESSAGE is a string, or an array of bytes
// when it is not valid UTF-8.
func decode(line []byte) (Entry, bool) {
	var r rawEntry
	if json.Unmarshal(line, &r) != nil {
		return Entry{}, false
	}
	e := Entry{Cursor: r.Cursor, Priority: 6}
	var s string
	if json.Unmarshal(r.Message, &s) == nil {
		e.Message = []byte(s)
	} else {
		var b []int
		if json.Unmarshal(r.Message, &b) != nil {
			return Entry{}, false
		}
		e.Message = make([]byte, len(b))
		for i, c := range b {
			e.Message[i] = byte(c)
		}
	}
	if p, err := strconv.Atoi(r.Priority); err == nil {
		e.Priority = p
	}
	if us, err := strconv.ParseInt(r.Realtime, 10, 64); err == nil {
		e.Time = time.UnixMicro(us)
	}
	return e, true
}

// Follower streams matching entries to a callback as they arrive.
type Follower struct {
	user    bool
	matches []string
	since   string
	fn      func(Entry)

	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	cursor string
}

// Follow starts following every entry since a time that matches, e.g.
// "_SYSTEMD_UNIT=...". user selects the user journal.
func Follow(user bool, matches []string, since time.Time, fn func(Entry)) (*Follower, error) {
	f := &Follower{user: user, matches: matches, fn: fn, done: make(chan struct{})}
	f.since = fmt.Sprintf("--since=@%d.%06d", since.Unix(), since.Nanosecond()/1000)
	args := append(f.baseArgs(), "--follow", "--lines=all")
	f.cmd = exec.Command("journalctl", append(args, matches...)...)
	out, err := f.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	f.cmd.Stderr = os.Stderr
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot follow the journal: %w (is journalctl installed?)", err)
	}
	go func() {
		defer close(f.done)
		f.read(out)
	}()
	return f, nil
}

func (f *Follower) baseArgs() []string {
	args := []string{"--output=json", "--output-fields=MESSAGE,PRIORITY", "--no-pager", "--quiet"}
	if f.user {
		args = append(args, "--user")
	}
	return append(args, f.since)
}

func (f *Follower) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 64*1024*1024)
	for sc.Scan() {
		e, ok := decode(sc.Bytes())
		if !ok {
			continue
		}
		f.mu.Lock()
		f.cursor = e.Cursor
		f.mu.Unlock()
		f.fn(e)
	}
}

// Finish delivers what the program wrote before it ended and stops
// following. It asks journald to process everything queued first (root
// only; its reply comes after pending stream data is written), then reads
// once more after the last entry seen, so nothing is cut off.
func (f *Follower) Finish(ctx context.Context) {
	if os.Geteuid() == 0 && !f.user {
		_ = exec.CommandContext(ctx, "journalctl", "--sync").Run()
	} else {
		// Without --sync, give journald a moment to read the streams' last
		// lines.
		time.Sleep(100 * time.Millisecond)
	}
	f.cmd.Process.Kill()
	<-f.done
	f.cmd.Wait()
	f.mu.Lock()
	cursor := f.cursor
	f.mu.Unlock()
	args := f.baseArgs()
	if cursor != "" {
		args = append(args, "--after-cursor="+cursor)
	}
	out, err := exec.CommandContext(ctx, "journalctl", append(args, f.matches...)...).Output()
	if err != nil {
		return
	}
	f.read(bytes.NewReader(out))
}
