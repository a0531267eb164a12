// Package journal reads a run's output back from the journal. It drives
// journalctl rather than linking libsystemd through cgo (go-systemd's
// sdjournal): the binary stays static and cgo-free, and journalctl already
// knows every journal file layout, namespace and access rule of the host's
// systemd. Entries come as journalctl's JSON, one per line, parsed as they
// stream.
package journal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Entry is one journal entry of a run: a line the program wrote, or a
// message the manager logged about its unit.
type Entry struct {
	Time         time.Time
	Message      []byte
	Priority     int // syslog level: 3 err, 4 warning, 6 info (stdout's default)
	PID          int
	Identifier   string
	Hostname     string
	Unit         string // the unit the entry belongs to
	InvocationID string
	Manager      bool // logged by systemd about the unit, not by the program
	// Dropped is how many of the unit's lines journald's rate limit
	// discarded, when this entry is journald's report of that.
	Dropped int
	// LineBreak is journald's _LINE_BREAK: "line-max" marks a piece of a
	// line longer than its LineMax, continued in the next entry.
	LineBreak string
	Cursor    string
}

// droppedID is the MESSAGE_ID of journald's "Suppressed N messages from
// UNIT" entry. journald writes it lazily: only when the unit logs again
// after the rate-limit interval.
const droppedID = "a596d6fe7bfa4994828e72309e95d61e"

// fields are the ones journalctl is asked for (--output-fields).
const fields = "MESSAGE,PRIORITY,_PID,SYSLOG_IDENTIFIER,_COMM,_HOSTNAME,_SYSTEMD_UNIT,_SYSTEMD_USER_UNIT,UNIT,USER_UNIT,_SYSTEMD_INVOCATION_ID,INVOCATION_ID,USER_INVOCATION_ID,_LINE_BREAK,MESSAGE_ID,N_DROPPED,OBJECT_SYSTEMD_UNIT,OBJECT_SYSTEMD_USER_UNIT,OBJECT_SYSTEMD_INVOCATION_ID"

type rawEntry struct {
	Message        json.RawMessage `json:"MESSAGE"`
	Priority       string          `json:"PRIORITY"`
	PID            string          `json:"_PID"`
	Ident          string          `json:"SYSLOG_IDENTIFIER"`
	Comm           string          `json:"_COMM"`
	Hostname       string          `json:"_HOSTNAME"`
	Unit           string          `json:"_SYSTEMD_UNIT"`
	UserUnit       string          `json:"_SYSTEMD_USER_UNIT"`
	AboutUnit      string          `json:"UNIT"`
	AboutUser      string          `json:"USER_UNIT"`
	Invocation     string          `json:"_SYSTEMD_INVOCATION_ID"`
	AboutInvoc     string          `json:"INVOCATION_ID"`
	AboutUserInvoc string          `json:"USER_INVOCATION_ID"`
	LineBreak      string          `json:"_LINE_BREAK"`
	MessageID      string          `json:"MESSAGE_ID"`
	NDropped       string          `json:"N_DROPPED"`
	ObjectUnit     string          `json:"OBJECT_SYSTEMD_UNIT"`
	ObjectUserUnit string          `json:"OBJECT_SYSTEMD_USER_UNIT"`
	ObjectInvoc    string          `json:"OBJECT_SYSTEMD_INVOCATION_ID"`
	Cursor         string          `json:"__CURSOR"`
	RealtimeStr    string          `json:"__REALTIME_TIMESTAMP"`
}

// decode reads one line of journalctl -o json. MESSAGE is a string, or an
// array of bytes when it is not valid UTF-8.
func decode(line []byte) (Entry, bool) {
	var r rawEntry
	if json.Unmarshal(line, &r) != nil {
		return Entry{}, false
	}
	e := Entry{Cursor: r.Cursor, Priority: 6, Identifier: r.Ident, Hostname: r.Hostname, LineBreak: r.LineBreak}
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
	e.PID, _ = strconv.Atoi(r.PID)
	if us, err := strconv.ParseInt(r.RealtimeStr, 10, 64); err == nil {
		e.Time = time.UnixMicro(us)
	}
	if e.Identifier == "" {
		e.Identifier = r.Comm
	}
	// A message the manager logs about a unit names it in UNIT= (USER_UNIT=
	// for a user manager) and its invocation in INVOCATION_ID=.
	switch {
	case r.MessageID == droppedID && (r.ObjectUnit != "" || r.ObjectUserUnit != ""):
		// journald's report of lines it dropped, about the unit it names.
		e.Unit, e.InvocationID = r.ObjectUserUnit, r.ObjectInvoc
		if e.Unit == "" {
			e.Unit = r.ObjectUnit
		}
		e.Dropped, _ = strconv.Atoi(r.NDropped)
	case r.Unit != "" && r.AboutUnit == "" && r.AboutUser == "":
		e.Unit, e.InvocationID = r.Unit, r.Invocation
	case r.UserUnit != "" && r.AboutUser == "":
		e.Unit, e.InvocationID = r.UserUnit, r.Invocation
	case r.AboutUnit != "":
		e.Unit, e.InvocationID, e.Manager = r.AboutUnit, r.AboutInvoc, true
	case r.AboutUser != "":
		// A user manager names its own units' invocations USER_INVOCATION_ID.
		e.Unit, e.InvocationID, e.Manager = r.AboutUser, r.AboutUserInvoc, true
	default:
		e.Unit, e.InvocationID = r.Unit, r.Invocation
	}
	if e.Manager && machinery(e.Message) {
		return Entry{}, false
	}
	return e, true
}

// machinery says whether the manager's message about a run is about
// runctl's own machinery (its exit recorder), not the run: left out.
func machinery(msg []byte) bool {
	return bytes.HasPrefix(msg, []byte("Triggering OnSuccess= dependencies")) || bytes.HasPrefix(msg, []byte("Triggering OnFailure= dependencies"))
}

// DropNote says that journald dropped n lines of unit, in the words logs,
// status and attached runs all use.
func DropNote(unit string, n int) string {
	return fmt.Sprintf("journald dropped %d lines of %s (its rate limit; runctl run --no-log-limit keeps every line)", n, unit)
}
