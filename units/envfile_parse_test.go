package units

// A port of systemd 252's EnvironmentFile= parser: tests check with it what
// a service will really see.

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// ParseEnvFile reads an EnvironmentFile= the way systemd 252 does, so tests can
// check what a service will really see. Like load_env_file it fails on invalid
// UTF-8 or a NUL byte, lets a later assignment replace an earlier one in place
// and ignores lines without "="; unlike the manager, which drops bad variable
// names with a log message, it reports them as errors.
func ParseEnvFile(data []byte) ([]string, error) {
	env, lines, err := loadEnvFile(data)
	if err != nil {
		return nil, err
	}
	for i, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !validEnvName(name) {
			return nil, fmt.Errorf("invalid environment file: line %d: %q is not a valid variable name (%s)", lines[i], name, envNameRule)
		}
	}
	return env, nil
}

// Parser states, named as in env-file.c.
const (
	statePreKey = iota
	stateKey
	statePreValue
	stateValue
	stateValueEscape
	stateSingleQuoteValue
	stateDoubleQuoteValue
	stateDoubleQuoteValueEscape
	stateComment
	stateCommentEscape
)

func isEnvNewline(c byte) bool    { return c == '\n' || c == '\r' }
func isEnvWhitespace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isShellNeedEscape(c byte) bool {
	return c == '"' || c == '\\' || c == '`' || c == '$'
}

// loadEnvFile is a port of systemd 252's parse_env_file_internal with the
// load_env_file push callback. It returns the assignments and, for error
// messages, the line each one started on.
func loadEnvFile(data []byte) (env []string, lines []int, err error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		// read_full_file refuses embedded NULs (measured on 252).
		return nil, nil, fmt.Errorf("invalid environment file: line %d: NUL byte", 1+bytes.Count(data[:i], []byte("\n")))
	}

	var (
		state         = statePreKey
		key, value    []byte
		lastKeyWS     = -1 // start of trailing whitespace in key, or -1
		lastValueWS   = -1 // start of trailing whitespace in value, or -1
		line, keyLine = 1, 1
		index         = make(map[string]int) // variable name to position in env
	)

	push := func() error {
		if lastKeyWS >= 0 {
			key = key[:lastKeyWS]
		}
		k, v := string(key), string(value)
		if !utf8.ValidString(k) {
			return fmt.Errorf("invalid environment file: line %d: variable name is not valid UTF-8", keyLine)
		}
		if !utf8.ValidString(v) {
			return fmt.Errorf("invalid environment file: line %d: value of %q is not valid UTF-8", keyLine, k)
		}
		// strv_env_replace_consume: the name is what precedes the first "=",
		// which for a key starting with "=" is the empty string.
		p := k + "=" + v
		name := p[:strings.IndexByte(p, '=')]
		if i, ok := index[name]; ok {
			env[i] = p
			lines[i] = keyLine
			return nil
		}
		index[name] = len(env)
		env = append(env, p)
		lines = append(lines, keyLine)
		return nil
	}

	for _, c := range data {
		switch state {
		case statePreKey:
			if c == '#' || c == ';' {
				state = stateComment
			} else if !isEnvWhitespace(c) {
				state = stateKey
				lastKeyWS = -1
				keyLine = line
				key = append(key[:0], c)
			}

		case stateKey:
			if isEnvNewline(c) {
				state = statePreKey
				key = key[:0]
			} else if c == '=' {
				state = statePreValue
				lastValueWS = -1
				value = value[:0]
			} else {
				if !isEnvWhitespace(c) {
					lastKeyWS = -1
				} else if lastKeyWS < 0 {
					lastKeyWS = len(key)
				}
				key = append(key, c)
			}

		case statePreValue:
			if isEnvNewline(c) {
				state = statePreKey
				if err := push(); err != nil {
					return nil, nil, err
				}
			} else if c == '\'' {
				state = stateSingleQuoteValue
			} else if c == '"' {
				state = stateDoubleQuoteValue
			} else if c == '\\' {
				state = stateValueEscape
			} else if !isEnvWhitespace(c) {
				state = stateValue
				value = append(value, c)
			}

		case stateValue:
			if isEnvNewline(c) {
				state = statePreKey
				if lastValueWS >= 0 {
					value = value[:lastValueWS]
				}
				if err := push(); err != nil {
					return nil, nil, err
				}
			} else if c == '\\' {
				state = stateValueEscape
				lastValueWS = -1
			} else {
				if !isEnvWhitespace(c) {
					lastValueWS = -1
				} else if lastValueWS < 0 {
					lastValueWS = len(value)
				}
				value = append(value, c)
			}

		case stateValueEscape:
			state = stateValue
			if !isEnvNewline(c) { // an escaped newline is eaten
				value = append(value, c)
			}

		case stateSingleQuoteValue:
			if c == '\'' {
				state = statePreValue
			} else {
				value = append(value, c)
			}

		case stateDoubleQuoteValue:
			if c == '"' {
				state = statePreValue
			} else if c == '\\' {
				state = stateDoubleQuoteValueEscape
			} else {
				value = append(value, c)
			}

		case stateDoubleQuoteValueEscape:
			state = stateDoubleQuoteValue
			if isShellNeedEscape(c) {
				value = append(value, c)
			} else if c != '\n' { // only \n: a backslash before \r stays
				value = append(value, '\\', c)
			}

		case stateComment:
			if c == '\\' {
				state = stateCommentEscape
			} else if isEnvNewline(c) {
				state = statePreKey
			}

		case stateCommentEscape:
			// 252 continues a comment after an escaped newline; 254 does not.
			state = stateComment
		}
		if c == '\n' {
			line++
		}
	}

	switch state {
	case statePreValue, stateValue, stateValueEscape,
		stateSingleQuoteValue, stateDoubleQuoteValue, stateDoubleQuoteValueEscape:
		if state == stateValue && lastValueWS >= 0 {
			value = value[:lastValueWS]
		}
		if err := push(); err != nil {
			return nil, nil, err
		}
	}
	return env, lines, nil
}
