package journal

import (
	"bytes"
	"slices"
	"strings"
	"testing"
)

func piece(unit string, pid int, msg, lineBreak string) Entry {
	return Entry{Unit: unit, PID: pid, Message: []byte(msg), LineBreak: lineBreak, Cursor: unit + msg}
}

// journald splits a line longer than LineMax into entries marked
// _LINE_BREAK=line-max, each writer's pieces in order, possibly
// interleaved with other writers' lines.
func TestJoinerJoinsSplitLines(t *testing.T) {
	in := []Entry{
		piece("a", 1, "short", ""),
		piece("a", 1, "aaa", "line-max"),
		piece("b", 2, "b-line", ""),
		piece("a", 1, "bbb", "line-max"),
		piece("a", 1, "cc", ""),
		piece("a", 1, "tail", "line-max"), // its end is not written yet
		piece("a", 2, "other pid", ""),
	}
	var got []string
	j := newJoiner(func(e Entry) error { got = append(got, string(e.Message)); return nil })
	for _, e := range in {
		if err := j.add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.flush(); err != nil {
		t.Fatal(err)
	}
	want := []string{"short", "b-line", "aaabbbcc", "other pid", "tail"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("joined %q, want %q", got, want)
	}
}

func TestJoinerKeepsPiecesOwnBytes(t *testing.T) {
	buf := []byte("xy")
	var got []byte
	j := newJoiner(func(e Entry) error { got = e.Message; return nil })
	j.add(Entry{Message: buf[:1], LineBreak: "line-max"})
	j.add(Entry{Message: buf[1:]})
	if !bytes.Equal(got, []byte("xy")) || !bytes.Equal(buf, []byte("xy")) {
		t.Fatalf("joined %q, source now %q", got, buf)
	}
}

func TestDecodeDropReportAndBytes(t *testing.T) {
	e, ok := decode([]byte(`{"__CURSOR":"c","__REALTIME_TIMESTAMP":"1","MESSAGE":"Suppressed 7 messages from runctl-x.service","MESSAGE_ID":"a596d6fe7bfa4994828e72309e95d61e","N_DROPPED":"7","OBJECT_SYSTEMD_UNIT":"runctl-x.service","_SYSTEMD_UNIT":"systemd-journald.service","_PID":"30"}`))
	if !ok || e.Dropped != 7 || e.Unit != "runctl-x.service" || e.Manager {
		t.Fatalf("drop report decoded as %+v", e)
	}
	e, ok = decode([]byte(`{"MESSAGE":[50,53,176,67],"_LINE_BREAK":"line-max","_SYSTEMD_UNIT":"runctl-x.service"}`))
	if !ok || string(e.Message) != "25\xb0C" || e.LineBreak != "line-max" {
		t.Fatalf("byte array message decoded as %+v", e)
	}
}

// Newest first, a manager line can sit between the pieces of the oldest
// line asked for: it is read on past it to the line's first piece.
func TestLastLinesReadsOnForPieces(t *testing.T) {
	newestFirst := []Entry{
		piece("u", 7, "two", ""),
		piece("u", 7, "one", ""),
		piece("u", 7, "ccc", ""),
		piece("u", 1, "Deactivated", ""),
		piece("u", 7, "bbb", "line-max"),
		piece("u", 1, "Consumed", ""),
		piece("u", 7, "aaa", "line-max"),
		piece("u", 7, "older", ""),
		piece("u", 7, "never read", ""),
	}
	c := newLastLines(3, 64)
	read := 0
	for _, e := range newestFirst {
		read++
		if c.take(e) {
			break
		}
	}
	var lines []string
	j := newJoiner(func(e Entry) error { lines = append(lines, string(e.Message)); return nil })
	got := slices.Clone(c.got)
	slices.Reverse(got)
	for _, e := range got {
		j.add(e)
	}
	j.flush()
	if want := []string{"aaabbbccc", "one", "two"}; !slices.Equal(lines, want) || read != 8 {
		t.Fatalf("last 3 lines %q after reading %d entries, want %q after 8", lines, read, want)
	}
}
