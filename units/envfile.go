package units

import (
	"bytes"
	"fmt"
	"strings"
)

// The environment travels in a file, not in Environment=: unit properties
// are readable by every local user, a 0600 file is read by the manager only.

const envFileHeader = "# runctl environment; do not edit, regenerated on start\n"

// RenderEnvFile writes env in the EnvironmentFile= format so that systemd 252
// (src/basic/env-file.c) loads every value byte for byte: each value is
// double-quoted, with only " \ ` $ escaped, since inside double quotes the
// parser unescapes exactly those and keeps everything else, newlines included.
func RenderEnvFile(env []string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(envFileHeader)
	seen := make(map[string]bool, len(env))
	for _, kv := range env {
		if err := envError(kv); err != nil {
			return nil, err
		}
		name, value, _ := strings.Cut(kv, "=")
		if seen[name] {
			return nil, fmt.Errorf("variable %q is set twice", name)
		}
		seen[name] = true
		b.WriteString(name)
		b.WriteString(`="`)
		for i := 0; i < len(value); i++ {
			switch c := value[i]; c {
			case '"', '\\', '`', '$':
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		b.WriteString("\"\n")
	}
	return b.Bytes(), nil
}
