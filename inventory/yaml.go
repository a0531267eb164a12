package inventory

import (
	"fmt"
	"strings"
)

// The subset of YAML that Ansible inventories use: nested block mappings of
// plain or quoted scalars, empty values, comments. Lists, anchors, flow
// collections other than {} and multi-line scalars are refused with the
// line, never guessed at; runctl takes no YAML dependency for this.

// node is a mapping (entries) or a scalar; a nil *node is an empty value.
type node struct {
	line    int
	scalar  *string
	entries []entry
}

type entry struct {
	line  int
	key   string
	value *node
}

type yamlLine struct {
	n      int
	indent int
	text   string
}

func parseYAMLMap(text string) (*node, error) {
	var lines []yamlLine
	for i, raw := range strings.Split(text, "\n") {
		raw = strings.TrimRight(raw, " \t\r")
		body := strings.TrimLeft(raw, " ")
		if strings.HasPrefix(body, "\t") {
			return nil, fmt.Errorf("line %d: tabs are not allowed for indentation in YAML", i+1)
		}
		t := stripComment(body)
		if t == "" || t == "---" {
			continue
		}
		if t == "..." {
			break
		}
		lines = append(lines, yamlLine{n: i + 1, indent: len(raw) - len(body), text: t})
	}
	if len(lines) == 0 {
		return &node{}, nil
	}
	n, rest, err := parseBlock(lines, lines[0].indent)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, fmt.Errorf("line %d: indentation does not match any mapping above", rest[0].n)
	}
	return n, nil
}

// parseBlock reads the mapping whose keys sit at indent.
func parseBlock(lines []yamlLine, indent int) (*node, []yamlLine, error) {
	m := &node{line: lines[0].n}
	seen := map[string]bool{}
	for len(lines) > 0 {
		l := lines[0]
		if l.indent < indent {
			break
		}
		if l.indent > indent {
			return nil, nil, fmt.Errorf("line %d: unexpected indentation", l.n)
		}
		if strings.HasPrefix(l.text, "- ") || l.text == "-" {
			return nil, nil, fmt.Errorf("line %d: YAML lists are not supported in inventories: use a map of names", l.n)
		}
		k, v, ok := cutKey(l.text)
		if !ok {
			return nil, nil, fmt.Errorf("line %d: expected \"key:\" or \"key: value\", got %q", l.n, l.text)
		}
		key, err := scalar(k, l.n)
		if err != nil {
			return nil, nil, err
		}
		if seen[key] {
			return nil, nil, fmt.Errorf("line %d: key %q appears twice in the same mapping", l.n, key)
		}
		seen[key] = true
		lines = lines[1:]
		e := entry{line: l.n, key: key}
		switch {
		case v != "":
			if v != "{}" && v != "~" && v != "null" {
				s, err := scalar(v, l.n)
				if err != nil {
					return nil, nil, err
				}
				e.value = &node{line: l.n, scalar: &s}
			}
		case len(lines) > 0 && lines[0].indent > indent:
			child, rest, err := parseBlock(lines, lines[0].indent)
			if err != nil {
				return nil, nil, err
			}
			e.value, lines = child, rest
		}
		m.entries = append(m.entries, e)
	}
	return m, lines, nil
}

// cutKey splits "key: value" at the first ": " (or a trailing ":") outside quotes.
func cutKey(t string) (string, string, bool) {
	i := outsideQuotes(t, func(i int) bool { return t[i] == ':' && (i == len(t)-1 || t[i+1] == ' ') })
	if i < 0 {
		return "", "", false
	}
	return strings.TrimSpace(t[:i]), strings.TrimSpace(t[i+1:]), true
}

// outsideQuotes is the index of the first byte of t outside single or
// double quotes for which at holds, or -1.
func outsideQuotes(t string, at func(i int) bool) int {
	var q byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case at(i):
			return i
		}
	}
	return -1
}

func scalar(s string, line int) (string, error) {
	if s == "" {
		return "", fmt.Errorf("line %d: empty key", line)
	}
	switch s[0] {
	case '"', '\'':
		if len(s) < 2 || s[len(s)-1] != s[0] {
			return "", fmt.Errorf("line %d: unterminated quoted string %s", line, s)
		}
		inner := s[1 : len(s)-1]
		if s[0] == '\'' {
			return strings.ReplaceAll(inner, "''", "'"), nil
		}
		if strings.Contains(inner, `\`) {
			return "", fmt.Errorf("line %d: escapes in double-quoted strings are not supported: %s", line, s)
		}
		return inner, nil
	case '&', '*', '!', '|', '>', '[', '{', '@', '`':
		return "", fmt.Errorf("line %d: %q uses YAML beyond what inventories need (anchors, tags, flow collections, block scalars)", line, s)
	}
	return s, nil
}

// stripComment removes a " #" comment outside quotes.
func stripComment(t string) string {
	if i := outsideQuotes(t, func(i int) bool { return t[i] == '#' && (i == 0 || t[i-1] == ' ') }); i >= 0 {
		return strings.TrimRight(t[:i], " ")
	}
	return t
}
