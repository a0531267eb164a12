package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// SSHCommand is the ssh command line: $RUNCTL_SSH split into words (as
// GIT_SSH_COMMAND is, without a shell: quotes group words), or "ssh".
func SSHCommand() ([]string, error) {
	s := os.Getenv("RUNCTL_SSH")
	if strings.TrimSpace(s) == "" {
		return []string{"ssh"}, nil
	}
	words, err := SplitWords(s)
	if err != nil {
		return nil, fmt.Errorf("cannot read RUNCTL_SSH: %w", err)
	}
	return words, nil
}

// ControlDir is where runctl keeps its ssh control sockets: private to the
// user, under $XDG_RUNTIME_DIR or else ~/.cache.
func ControlDir() (string, error) {
	base := os.Getenv("XDG_RUNTIME_DIR")
	if base == "" {
		c, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a folder for ssh control sockets: %w", err)
		}
		base = c
	}
	d := filepath.Join(base, "runctl", "ssh")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("cannot create the ssh control socket folder: %w", err)
	}
	return d, nil
}

// sshArgs is the ssh command for t running remote (already one shell
// string). Connection sharing is added unless ssh_config configures it.
func (o *Options) sshArgs(ctx context.Context, t Target, remote string) []string {
	args := append([]string(nil), o.SSH...)
	args = append(args, "-T", "-o", "BatchMode=yes")
	if t.Port != 0 {
		args = append(args, "-p", strconv.Itoa(t.Port))
	}
	if o.ControlDir != "" && !o.configSharesConnections(ctx, t) {
		// One socket per destination as named, so that two aliases of one
		// address are two connections, as two robots would be.
		sum := sha256.Sum256([]byte(t.Dest + ":" + strconv.Itoa(t.Port)))
		args = append(args, "-o", "ControlMaster=auto",
			"-o", "ControlPath="+filepath.Join(o.ControlDir, hex.EncodeToString(sum[:8])),
			"-o", "ControlPersist=60",
			// A kept connection to a robot that went away would otherwise
			// hang every command on it until --host-timeout.
			"-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3")
	}
	return append(args, "--", t.Dest, remote)
}

// configSharesConnections asks ssh (-G: the configuration, no connection)
// whether the user's ssh_config already sets ControlMaster or ControlPath.
func (o *Options) configSharesConnections(ctx context.Context, t Target) bool {
	args := append(append([]string(nil), o.SSH[1:]...), "-G")
	if t.Port != 0 {
		args = append(args, "-p", strconv.Itoa(t.Port))
	}
	out, err := exec.CommandContext(ctx, o.SSH[0], append(args, "--", t.Dest)...).Output()
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, " ")
		if (k == "controlmaster" && v != "false") || (k == "controlpath" && v != "none") {
			return true
		}
	}
	return false
}

// Quote makes argv one POSIX shell string, each word single-quoted: what
// ssh hands to the remote shell, and what serve-ssh reads back.
func Quote(argv []string) string {
	var b strings.Builder
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('\'')
		b.WriteString(strings.ReplaceAll(a, "'", `'\''`))
		b.WriteByte('\'')
	}
	return b.String()
}

// SplitWords reads the shell words of s the way sh does for plain words,
// 'single' and "double" quotes and backslash escapes, and refuses
// everything that would make a shell do more than run one command:
// ; & | < > ( ) $ ` unquoted, newlines, and $ ` inside double quotes.
func SplitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				switch s[j] {
				case '$', '`':
					return nil, fmt.Errorf("%q inside double quotes is shell expansion, which is refused", s[j])
				case '\\':
					if j+1 < len(s) && strings.IndexByte("\"\\", s[j+1]) >= 0 {
						j++
					}
				}
				cur.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, errors.New("unterminated double quote")
			}
			i = j
			inWord = true
		case c == '\\':
			if i+1 >= len(s) || s[i+1] == '\n' {
				return nil, errors.New("a trailing backslash")
			}
			i++
			cur.WriteByte(s[i])
			inWord = true
		case strings.IndexByte(";&|<>()$`\n\r*?[]{}~#!", c) >= 0:
			return nil, fmt.Errorf("unquoted %q is shell syntax, which is refused", c)
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// lastLine is the last non-empty line of b, for an error message.
func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	return strings.TrimSpace(string(lines[len(lines)-1]))
}
