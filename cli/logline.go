package cli

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/runctl/runctl/journal"
)

// LogLine is one journal entry as runctl prints it; its JSON is the
// `logs --json` object.
type LogLine struct {
	Time         time.Time `json:"time"`
	Unit         string    `json:"unit"`
	InvocationID string    `json:"invocation_id,omitempty"`
	PID          int       `json:"pid,omitempty"`
	Identifier   string    `json:"identifier"`
	Priority     int       `json:"priority"` // syslog level: 3 err, 4 warning, 6 info
	Source       string    `json:"source"`   // program; systemd for the manager's messages; journald for its drop reports
	Message      string    `json:"message"`  // invalid UTF-8 replaced by U+FFFD; message_bytes then holds the raw bytes
	MessageBytes []byte    `json:"message_bytes,omitempty"`
	Dropped      int       `json:"dropped,omitempty"` // lines journald's rate limit discarded (source journald)
	Hostname     string    `json:"hostname,omitempty"`

	raw []byte // the message as written, for text output
}

func logLine(e journal.Entry) LogLine {
	l := LogLine{Time: e.Time, Unit: e.Unit, InvocationID: e.InvocationID, PID: e.PID, Identifier: e.Identifier,
		Priority: e.Priority, Source: "program", Message: string(e.Message), Hostname: e.Hostname, raw: e.Message}
	switch {
	case e.Dropped > 0:
		l.Source, l.Dropped = "journald", e.Dropped
	case e.Manager:
		l.Source = "systemd"
	}
	if !utf8.Valid(e.Message) {
		l.Message, l.MessageBytes = strings.ToValidUTF8(string(e.Message), "\uFFFD"), e.Message
	}
	return l
}

// format is the line as journalctl -o mode prints it (short, short-precise,
// short-iso, cat), with the program's bytes as written. Lines the program
// logged at error priority or worse are marked, but in cat, since the
// journal merges stdout and stderr into one stream. journald's report of
// dropped lines is a marker line.
func (l LogLine) format(mode string, hostname bool) []byte {
	var b bytes.Buffer
	stamp := l.Time.Local().Format("Jan 02 15:04:05.000000")
	switch mode {
	case "short":
		stamp = l.Time.Local().Format("Jan 02 15:04:05")
	case "short-iso":
		stamp = l.Time.Local().Format("2006-01-02T15:04:05-0700")
	}
	if l.Dropped > 0 {
		if mode == "cat" {
			return []byte("-- " + journal.DropNote(l.Unit, l.Dropped) + " --")
		}
		fmt.Fprintf(&b, "-- %s %s --", stamp, journal.DropNote(l.Unit, l.Dropped))
		return b.Bytes()
	}
	if mode == "cat" {
		return l.raw
	}
	b.WriteString(stamp)
	if hostname && l.Hostname != "" {
		b.WriteString(" " + l.Hostname)
	}
	b.WriteString(" " + l.Identifier)
	if l.PID != 0 {
		fmt.Fprintf(&b, "[%d]", l.PID)
	}
	b.WriteString(": ")
	if l.Priority <= 3 && l.Source == "program" {
		b.WriteString("[err] ")
	}
	b.Write(l.raw)
	return b.Bytes()
}

// text is the line as logs prints it by default (-o short-precise).
func (l LogLine) text(hostname bool) []byte { return l.format("short-precise", hostname) }
