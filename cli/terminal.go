package cli

import (
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// useColour says whether output to w may be coloured, as systemd decides
// (get_color_mode): SYSTEMD_COLORS, if set to a boolean or a colour depth,
// decides; else NO_COLOR set to anything turns colour off; else colour is
// on when w is a terminal and TERM is not "dumb". (systemd also takes an
// unset TERM for dumb; runctl does not, as sudo and script(1) may leave
// TERM out on a real terminal.)
func useColour(w io.Writer) bool {
	return colourMode(os.Getenv, isTerminal(w))
}

func colourMode(getenv func(string) string, terminal bool) bool {
	switch strings.ToLower(getenv("SYSTEMD_COLORS")) {
	case "0", "no", "n", "false", "f", "off":
		return false
	case "1", "yes", "y", "true", "t", "on", "16", "256", "24bit":
		return true
	}
	if getenv("NO_COLOR") != "" {
		return false
	}
	return terminal && getenv("TERM") != "dumb"
}

// escapeControl returns b with what a terminal would act on rather than
// show escaped as \xNN: C0 control characters but tab (and newline, with
// keepNewline), DEL, C1 control characters, and bytes that are not UTF-8.
// A program's (or another user's) bytes then cannot move the cursor,
// retitle the window or make the terminal answer back. Backslashes are left
// alone: the exact bytes are in -o cat and --json.
func escapeControl(b []byte, keepNewline bool) []byte {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if needsEscape(r, n, keepNewline) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	const hex = "0123456789abcdef"
	out := append(make([]byte, 0, len(b)+16), b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if !needsEscape(r, n, keepNewline) {
			out = append(out, b[i:i+n]...)
		} else {
			for _, c := range b[i : i+n] {
				out = append(out, '\\', 'x', hex[c>>4], hex[c&0xf])
			}
		}
		i += n
	}
	return out
}

func needsEscape(r rune, n int, keepNewline bool) bool {
	switch {
	case r == utf8.RuneError && n <= 1:
		return true
	case r == '\t', r == '\n' && keepNewline:
		return false
	case r < 0x20, r == 0x7f, 0x80 <= r && r < 0xa0:
		return true
	}
	return false
}

// escaper escapes what is written through it but its line ends: the text
// a verb prints to a terminal. Each Write must hold whole characters.
type escaper struct{ w io.Writer }

func (e escaper) Write(p []byte) (int, error) {
	if _, err := e.w.Write(escapeControl(p, true)); err != nil {
		return 0, err
	}
	return len(p), nil
}
