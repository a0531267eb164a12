package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
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

// ControlDir is the folder of runctl's ssh control sockets, the user's
// alone: runctl-ssh in $XDG_RUNTIME_DIR when that is a private folder of the
// user's (as logind makes /run/user/UID), else ssh-UID in runctl's folder of
// the user's cache. A path too long for a socket (ssh refuses "ControlPath
// too long") falls back to runctl-ssh-UID in $TMPDIR or /tmp. runctl creates
// the folder with mode 0700 and refuses one that is not the user's own, not
// 0700, a symbolic link, or under a folder another user can write: whoever
// can put a socket there receives the commands (and the -E values) sent
// through it.
func ControlDir() (string, error) {
	uid := os.Geteuid()
	var d string
	if rt := os.Getenv("XDG_RUNTIME_DIR"); filepath.IsAbs(rt) && checkPrivate(rt, uid) == nil {
		d = filepath.Join(rt, "runctl-ssh")
	} else {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("cannot find a folder for ssh control sockets: %w; set XDG_RUNTIME_DIR to a private folder of yours", err)
		}
		d = filepath.Join(cache, "runctl", "ssh-"+strconv.Itoa(uid))
	}
	if !socketFits(d) {
		d = filepath.Join(os.TempDir(), "runctl-ssh-"+strconv.Itoa(uid))
		if !socketFits(d) {
			return "", fmt.Errorf("cannot share ssh connections: %s is too long a folder for a socket path (at most %d bytes); set TMPDIR to a shorter one", d, maxSocketDir)
		}
	}
	if err := makePrivate(d, uid); err != nil {
		return "", err
	}
	return d, nil
}

// maxSocketDir is the longest control folder: a socket path holds at most
// 107 bytes, and ssh names a master's socket DIR/NAME.RANDOM first (16
// random characters) before renaming it to DIR/NAME.
const maxSocketDir = 107 - 1 - socketNameLen - 17

// socketNameLen is the length of a control socket's name (hex digits).
const socketNameLen = 16

func socketFits(dir string) bool { return len(dir) <= maxSocketDir }

// makePrivate creates dir (mode 0700, and 0700 for the missing folders
// above it) unless it exists, and checks it with checkPrivate and every
// folder above it with checkAbove.
func makePrivate(dir string, uid int) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("cannot create the folder for ssh control sockets: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("cannot create the folder for ssh control sockets: %w", err)
	}
	if err := checkPrivate(dir, uid); err != nil {
		return err
	}
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if err := checkAbove(dir, d, uid); err != nil {
			return err
		}
		if d == "/" || d == "." {
			return nil
		}
	}
}

// checkPrivate says why dir is not a private folder of uid's: a real
// folder (Lstat: not a symbolic link) owned by uid with mode 0700.
func checkPrivate(dir string, uid int) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("cannot use %s for ssh control sockets: %w", dir, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	switch {
	case fi.Mode()&fs.ModeSymlink != 0:
		return refuseDir(dir, "it is a symbolic link", "remove it (runctl creates the folder itself)")
	case !fi.IsDir():
		return refuseDir(dir, "it is not a folder", "remove it (runctl creates the folder itself)")
	case int(st.Uid) != uid:
		return refuseDir(dir, "it is owned by "+userName(st.Uid)+", not by you", "remove it (runctl creates the folder itself), or set XDG_RUNTIME_DIR to a private folder of yours")
	case fi.Mode().Perm() != 0o700:
		return refuseDir(dir, fmt.Sprintf("its mode is %04o, not 0700", fi.Mode().Perm()), "chmod 700 "+dir+", or remove it")
	}
	return nil
}

// checkAbove refuses a folder above dir that another user could change:
// it must be owned by uid or root, and writable by no one else unless it
// is sticky (as /tmp is: others cannot rename what is not theirs).
func checkAbove(dir, above string, uid int) error {
	fi, err := os.Stat(above)
	if err != nil {
		return fmt.Errorf("cannot use %s for ssh control sockets: %w", dir, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid && st.Uid != 0 {
		return refuseDir(dir, above+" is owned by "+userName(st.Uid), "set XDG_RUNTIME_DIR (or XDG_CACHE_HOME) to a private folder of yours")
	}
	if fi.Mode().Perm()&0o022 != 0 && fi.Mode()&fs.ModeSticky == 0 {
		return refuseDir(dir, fmt.Sprintf("other users can write %s (mode %04o)", above, fi.Mode().Perm()), "chmod go-w "+above+", or set XDG_RUNTIME_DIR to a private folder of yours")
	}
	return nil
}

func refuseDir(dir, why, fix string) error {
	return fmt.Errorf("refusing to use %s for ssh control sockets: %s, so another user could receive what runctl sends to the hosts; %s", dir, why, fix)
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return "user " + u.Username
	}
	return "uid " + strconv.Itoa(int(uid))
}

// sshArgs is the ssh command for t running remote (already one shell
// string). Connection sharing is added unless ssh_config configures it.
func (o *Options) sshArgs(ctx context.Context, t Target, remote string) []string {
	args := append([]string(nil), o.SSH...)
	args = append(args, "-T", "-o", "BatchMode=yes")
	if t.Port != 0 {
		args = append(args, "-p", strconv.Itoa(t.Port))
	}
	if o.ControlDir != "" {
		if name, ok := o.controlName(ctx, t); ok {
			args = append(args, "-o", "ControlMaster=auto",
				"-o", "ControlPath="+filepath.Join(o.ControlDir, name),
				"-o", "ControlPersist=60",
				// A kept connection to a robot that went away would otherwise
				// hang every command on it: its death is noticed within about
				// 3 s, as soon as a fresh connect would fail, at the cost of a
				// small packet a second on an idle connection.
				"-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=3")
		}
	}
	return append(args, "--", t.Dest, remote)
}

// controlName names the control socket for t: a hash of everything that
// decides where the connection goes and as whom, the ssh command (its
// options and config file) and the destination as named, and ssh's whole
// configuration for it (ssh -G: host name, user, port, keys, proxies; read
// without connecting, ~25 ms). Two aliases of one address are two
// connections, as two robots would be; a changed ssh_config is a new one.
// ok is false when ssh_config shares connections itself (ControlMaster or
// ControlPath set), or ssh -G fails: then runctl adds no sharing.
func (o *Options) controlName(ctx context.Context, t Target) (string, bool) {
	args := append(append([]string(nil), o.SSH[1:]...), "-G")
	if t.Port != 0 {
		args = append(args, "-p", strconv.Itoa(t.Port))
	}
	out, err := exec.CommandContext(ctx, o.SSH[0], append(args, "--", t.Dest)...).Output()
	if err != nil {
		return "", false
	}
	for _, l := range strings.Split(string(out), "\n") {
		k, v, _ := strings.Cut(l, " ")
		if (k == "controlmaster" && v != "false") || (k == "controlpath" && v != "none") {
			return "", false
		}
	}
	h := sha256.New()
	for _, w := range o.SSH {
		fmt.Fprintf(h, "%d:%s\x00", len(w), w)
	}
	fmt.Fprintf(h, "%d:%s\x00%d\x00", len(t.Dest), t.Dest, t.Port)
	h.Write(out)
	return hex.EncodeToString(h.Sum(nil))[:socketNameLen], true
}

// quoteWords makes argv one POSIX shell string, each word single-quoted: what
// ssh hands to the remote shell, and what serve-ssh reads back.
func quoteWords(argv []string) string {
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

// lastLine is the last non-empty line of b, for an error message, leaving
// out ssh's notes on connection sharing: two runctl -H starting at once
// both try to become the master, and the loser says "ControlSocket …
// already exists, disabling multiplexing" and goes on without it.
func lastLine(b []byte) string {
	lines := bytes.Split(bytes.TrimSpace(b), []byte("\n"))
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(string(lines[i]))
		if l != "" && !strings.HasPrefix(l, "ControlSocket ") && !strings.HasPrefix(l, "mux_client") && !strings.HasPrefix(l, "muxclient") {
			return l
		}
	}
	return ""
}
