package units

import (
	"bytes"
	"fmt"
	"strings"
)

// ReadEnvLines reads an --env-file: one NAME=VALUE a line; blank lines and
// lines starting with # are skipped, an "export " before the name is
// allowed (so a file a shell sources also works), and one pair of matching
// quotes around the whole value is removed. Nothing else is interpreted:
// no $ expansion, no escapes. Errors name the line and the variable, never
// the value (it may be a secret).
func ReadEnvLines(data []byte) ([]string, error) {
	var env []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		trimmed = strings.TrimPrefix(trimmed, "export ")
		name, value, ok := strings.Cut(strings.TrimLeft(trimmed, " \t"), "=")
		if !ok {
			return nil, fmt.Errorf("line %d: want NAME=VALUE", i+1)
		}
		if n := len(value); n >= 2 && (value[0] == '"' || value[0] == '\'') && value[n-1] == value[0] {
			value = value[1 : n-1]
		}
		kv := name + "=" + value
		if _, _, problem := splitEnv(kv); problem != "" {
			return nil, fmt.Errorf("line %d: %s", i+1, problem)
		}
		env = append(env, kv)
	}
	return env, nil
}

// ParseEnvDump reads an environment as `env -0` prints it: NAME=VALUE
// entries, each ended by a NUL. Entries that are not NAME=VALUE are
// skipped.
func ParseEnvDump(data []byte) []string {
	var env []string
	for _, e := range bytes.Split(data, []byte{0}) {
		if kv := string(e); strings.Contains(kv, "=") {
			env = append(env, kv)
		}
	}
	return env
}
