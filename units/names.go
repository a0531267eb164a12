// Package units describes what a run is: its name, its captured environment,
// its saved spec and the transient unit properties systemd gets. It is pure,
// so all of it can be tested without systemd.
package units

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// UnitPrefix marks the units runctl owns, so listing can tell them from
// every other unit on the machine.
const UnitPrefix = "runctl-"

// maxNameLen keeps unit names, journal identifiers and file names short.
const maxNameLen = 64

const unitSuffix = ".service"

const nameRule = "use 1-64 characters from A-Z a-z 0-9 . _ - starting with a letter or digit"

// ValidateName checks a run name. The rule is narrower than systemd's so that a
// name is also safe as a file name and needs no escaping anywhere.
func ValidateName(name string) error {
	if problem := nameProblem(name); problem != "" {
		return fmt.Errorf("invalid run name %q: %s; %s", name, problem, nameRule)
	}
	return nil
}

func nameProblem(name string) string {
	if name == "" {
		return "it is empty"
	}
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			_, size := utf8.DecodeRuneInString(name[i:])
			return fmt.Sprintf("%q is not allowed", name[i:i+size])
		}
	}
	if !isAlnum(name[0]) {
		return fmt.Sprintf("it starts with %q", name[:1])
	}
	if strings.Contains(name, "..") {
		return `".." is not allowed`
	}
	if len(name) > maxNameLen {
		return fmt.Sprintf("it is %d characters long", len(name))
	}
	return ""
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func isNameByte(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '-'
}

// sanitizeName turns a command into a default run name, so `runctl run
// ./bot.py` needs no --name. The rule, as the README states it: the
// basename, with every character outside A-Z a-z 0-9 . _ - replaced by "-";
// runs of "-" (or of ".") become one, a "-" next to a "." is dropped, and so
// is any "-", "." or "_" at either end; at most 64 characters; "run" if
// nothing is left. The result always passes ValidateName.
func sanitizeName(s string) string {
	s = filepath.Base(s)
	b := make([]byte, 0, len(s))
	for _, r := range s {
		c := byte('-')
		if r < utf8.RuneSelf && isNameByte(byte(r)) {
			c = byte(r)
		}
		if n := len(b); n > 0 {
			last := b[n-1]
			switch {
			case c == last && (c == '-' || c == '.'), c == '-' && last == '.':
				continue
			case c == '.' && last == '-':
				b[n-1] = '.'
				continue
			}
		}
		b = append(b, c)
	}
	out := strings.Trim(string(b), "-._")
	if len(out) > maxNameLen {
		out = strings.TrimRight(out[:maxNameLen], "-._")
	}
	if out == "" {
		return "run"
	}
	return out
}

// UnitName is the systemd unit that runs name.
func UnitName(name string) string {
	return UnitPrefix + name + unitSuffix
}

// NameFromUnit reverses UnitName. It reports false for units runctl did not
// name, including runctl-prefixed ones whose name is not a valid run name.
func NameFromUnit(unit string) (string, bool) {
	name, ok := strings.CutPrefix(unit, UnitPrefix)
	if !ok {
		return "", false
	}
	name, ok = strings.CutSuffix(name, unitSuffix)
	if !ok || ValidateName(name) != nil {
		return "", false
	}
	return name, true
}
