package cli

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/alecthomas/kong"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/systemdctl"
)

// The operator service: members of the runctl group stop, start and
// restart the system manager's runs through it, and can do nothing else.
// systemd tells polkit a unit's name and a verb but not the job mode or the
// signal, so a polkit grant on runctl-* units would also grant `StopUnit
// ... flush` (cancel every queued job, a poweroff's included),
// replace-irreversibly and any signal. Instead, runctl.operator.socket
// (Accept=yes) starts `runctl serve-operator` as root for each connection;
// it learns who connected from the socket (SO_PEERCRED, SO_PEERGROUPS),
// takes a runctl command line, checks it names one of the lifecycle verbs
// with options that do no more than those verbs do, and runs it with
// runctl's own code, sending back its output and exit code.

// operatorSocket is where runctl.operator.socket listens.
const operatorSocket = "/run/runctl.operator.sock"

// operatorGroup is the group whose members the operator service serves.
const operatorGroup = "runctl"

// operatorProtocol is the version of the request and the answer.
const operatorProtocol = 1

// operatorVerbs are the verbs the operator service runs.
var operatorVerbs = []string{"stop", "start", "restart"}

// operatorFlags are the flags a request may give: "" allowed; else why
// not. A flag not listed is refused (TestOperatorKnowsEveryFlag).
var operatorFlags = map[string]string{
	"json": "", "log-level": "", "system": "", "all": "", "settle": "", "stack": "",
	// The client's envelope for -H; the answer is JSON with it.
	"fleet-protocol": "",
	"force":          "it sends SIGKILL at once, which needs root; without it the run's own stop timeout applies",
	"timeout":        "it sends SIGKILL at the time given, which needs root; without it the run's own stop timeout applies",
	"update-env":     "it gives a run your environment, which needs root",
	"rollback":       "it goes with --update-env, which needs root",
	"user":           "the operator service acts on the system manager; your own runs need no service",
}

// operatorRequest is what a client sends: one JSON line.
type operatorRequest struct {
	Protocol int      `json:"protocol"`
	Args     []string `json:"args"`
	// JSON asks for the verb's JSON output (the fleet envelope's).
	JSON bool `json:"json,omitempty"`
}

// operatorExit is the answer's last frame.
type operatorExit struct {
	Code     int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
	Reported bool   `json:"reported,omitempty"`
}

// Frames of the answer: a kind byte, a big-endian uint32 length, the bytes.
const (
	frameStdout = 'o'
	frameStderr = 'e'
	frameExit   = 'x'
)

// maxFrame bounds a frame the client accepts; the verbs print lines.
const maxFrame = 16 << 20

// frames writes the answer's frames to the connection, one at a time.
type frames struct {
	mu sync.Mutex
	w  io.Writer
}

func (f *frames) frame(kind byte, b []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	hdr := [5]byte{kind}
	binary.BigEndian.PutUint32(hdr[1:], uint32(len(b)))
	if _, err := f.w.Write(append(hdr[:], b...)); err != nil {
		return err
	}
	return nil
}

// frameStream is one of the verb's output streams, sent as frames of kind.
type frameStream struct {
	f    *frames
	kind byte
}

func (s frameStream) Write(b []byte) (int, error) {
	for rest := b; len(rest) > 0; {
		n := min(len(rest), maxFrame)
		if err := s.f.frame(s.kind, rest[:n]); err != nil {
			return len(b) - len(rest), err
		}
		rest = rest[n:]
	}
	return len(b), nil
}

// ServeOperatorCmd is the operator service, one connection per process.
type ServeOperatorCmd struct{}

func (c *ServeOperatorCmd) Run(ctx context.Context) error {
	files := activatedFiles()
	if len(files) != 1 {
		return fmt.Errorf("serve-operator: runctl.operator.socket (Accept=yes) starts it with one connection, and %d were passed; it is not for interactive use", len(files))
	}
	conn, err := net.FileConn(files[0])
	files[0].Close()
	if err != nil {
		return fmt.Errorf("serve-operator: %w", err)
	}
	defer conn.Close()
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("serve-operator: the connection passed is not a unix socket")
	}
	serveOperator(ctx, uc, os.Stderr)
	return nil
}

// peer is who is on the other end of a connection, as the kernel saw them
// when they connected.
type peer struct {
	uid, pid int
	gids     []uint32
}

func peerOf(conn *net.UnixConn) (peer, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return peer{}, err
	}
	var p peer
	var cerr error
	err = raw.Control(func(fd uintptr) {
		var cred *unix.Ucred
		if cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); cerr != nil {
			return
		}
		p.uid, p.pid, p.gids = int(cred.Uid), int(cred.Pid), []uint32{cred.Gid}
		var groups []uint32
		groups, cerr = peerGroups(int(fd))
		p.gids = append(p.gids, groups...)
	})
	return p, errors.Join(err, cerr)
}

// peerGroups are the supplementary groups of the peer (SO_PEERGROUPS,
// Linux 4.13).
func peerGroups(fd int) ([]uint32, error) {
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		switch {
		case e == unix.ERANGE && int(n/4) > len(buf):
			buf = make([]uint32, n/4)
		case e != 0:
			return nil, e
		default:
			return buf[:n/4], nil
		}
	}
}

// member says whether p is root or in the operator group.
func (p peer) member() bool {
	if p.uid == 0 {
		return true
	}
	g, err := user.LookupGroup(operatorGroup)
	if err != nil {
		return false
	}
	gid, err := strconv.ParseUint(g.Gid, 10, 32)
	return err == nil && slices.Contains(p.gids, uint32(gid))
}

// serveOperator answers one request on conn; journal is where what it did
// is logged (the service's stderr).
func serveOperator(ctx context.Context, conn *net.UnixConn, journal io.Writer) {
	f := &frames{w: conn}
	ex := func(code int, err error, reported bool) {
		e := operatorExit{Code: code, Reported: reported}
		if err != nil {
			e.Error = err.Error()
		}
		b, _ := json.Marshal(e)
		f.frame(frameExit, b)
	}
	p, err := peerOf(conn)
	if err != nil {
		fmt.Fprintf(journal, "cannot tell who connected: %v\n", err)
		ex(1, fmt.Errorf("the operator service cannot tell who you are: %w", err), false)
		return
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(io.LimitReader(conn, 1<<20)).ReadBytes('\n')
	var req operatorRequest
	if err == nil {
		err = json.Unmarshal(line, &req)
	}
	if err == nil && req.Protocol != operatorProtocol {
		err = fmt.Errorf("protocol %d asked, this runctl speaks %d: use the runctl installed with the service", req.Protocol, operatorProtocol)
	}
	if err != nil {
		fmt.Fprintf(journal, "uid %d (pid %d): cannot read the request: %v\n", p.uid, p.pid, err)
		ex(2, fmt.Errorf("the operator service cannot read the request: %w", err), false)
		return
	}
	conn.SetReadDeadline(time.Time{})
	kctx, globals, verb, err := checkOperator(req.Args)
	if err == nil && !p.member() {
		err = fmt.Errorf("cannot %s: permission denied: runctl's operator service acts for root and members of the %s group only (usermod -aG %s USER, then log in again)", verb, operatorGroup, operatorGroup)
	}
	if err != nil {
		fmt.Fprintf(journal, "uid %d (pid %d): refused %q: %v\n", p.uid, p.pid, req.Args, err)
		code := 1
		var exit *ExitError
		if errors.As(err, &exit) {
			code, err = exit.Code, exit.Err
		}
		ex(code, err, false)
		return
	}
	fmt.Fprintf(journal, "uid %d (pid %d): runctl %s\n", p.uid, p.pid, strings.Join(req.Args, " "))
	out := &Output{Stdout: frameStream{f, frameStdout}, Stderr: frameStream{f, frameStderr}, JSON: globals.JSON || req.JSON}
	globals.System, globals.User = true, false
	level, _ := zerolog.ParseLevel(globals.LogLevel)
	log := zerolog.New(zerolog.ConsoleWriter{Out: out.Stderr, NoColor: true}).Level(level).With().Timestamp().Logger()
	done := bindVerb(ctx, kctx, globals, out, log)
	code, verr, reported := verbExit(kctx.Run())
	done()
	fmt.Fprintf(journal, "uid %d (pid %d): %s: exit %d\n", p.uid, p.pid, verb, code)
	ex(code, verr, reported)
}

// checkOperator parses a request's command line with runctl's own model
// (so a flag is read here as runctl reads it) and refuses anything but the
// lifecycle verbs and their options that do no more.
func checkOperator(args []string) (*kong.Context, *Globals, string, error) {
	kctx, globals, err := parse(args, "serve-operator")
	if err != nil {
		return nil, nil, "", &ExitError{Code: 2, Err: err}
	}
	sel := kctx.Selected()
	if sel == nil || !slices.Contains(operatorVerbs, sel.Name) {
		name := "no verb"
		if sel != nil {
			name = sel.Name
		}
		return nil, nil, "", fmt.Errorf("cannot run %s through the operator service, which runs only %s; the rest needs root", name, strings.Join(operatorVerbs, ", "))
	}
	for _, p := range kctx.Path {
		if p.Flag == nil {
			continue
		}
		why, ok := operatorFlags[p.Flag.Name]
		if !ok {
			why = "the operator service does not take it"
		}
		if why != "" {
			return nil, nil, "", fmt.Errorf("cannot %s with %s: %s", sel.Name, flagName(p.Flag), why)
		}
	}
	return kctx, globals, sel.Name, nil
}

// viaOperator says whether the verb goes through the operator service: a
// lifecycle verb of the system manager's runs, by a user who is not root,
// on a host where the service listens.
func viaOperator(kctx *kong.Context, g *Globals) bool {
	if os.Geteuid() == 0 || g.Scope() != systemdctl.System {
		return false
	}
	sel := kctx.Selected()
	if sel == nil || !slices.Contains(operatorVerbs, sel.Name) {
		return false
	}
	fi, err := os.Stat(operatorSocket)
	return err == nil && fi.Mode()&os.ModeSocket != 0
}

// askOperator sends args to the operator service and copies its answer to
// out; the verb's error, exit code included, is returned as the local
// verb's would be.
func askOperator(ctx context.Context, verb string, args []string, out *Output) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", operatorSocket)
	if err != nil {
		return fmt.Errorf("cannot %s through runctl's operator service: %w; is runctl.operator.socket running? (systemctl status runctl.operator.socket)", verb, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	req, _ := json.Marshal(operatorRequest{Protocol: operatorProtocol, Args: args, JSON: out.JSON})
	if _, err := conn.Write(append(req, '\n')); err != nil {
		return fmt.Errorf("cannot %s through runctl's operator service: %w", verb, err)
	}
	r := bufio.NewReader(conn)
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return fmt.Errorf("cannot %s: runctl's operator service ended without an answer (%v): see journalctl -u 'runctl.operator@*'", verb, err)
		}
		n := binary.BigEndian.Uint32(hdr[1:])
		if n > maxFrame {
			return fmt.Errorf("cannot %s: runctl's operator service sent a frame of %d bytes", verb, n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("cannot %s: runctl's operator service ended mid-answer (%v): see journalctl -u 'runctl.operator@*'", verb, err)
		}
		switch hdr[0] {
		case frameStdout:
			out.Stdout.Write(b)
		case frameStderr:
			out.Stderr.Write(b)
		case frameExit:
			var e operatorExit
			if err := json.Unmarshal(b, &e); err != nil {
				return fmt.Errorf("cannot %s: runctl's operator service's answer: %w", verb, err)
			}
			if e.Code == 0 {
				return nil
			}
			exit := &ExitError{Code: e.Code, Reported: e.Reported}
			if e.Error != "" {
				exit.Err = errors.New(e.Error)
			}
			return exit
		default:
			return fmt.Errorf("cannot %s: runctl's operator service sent a frame of unknown kind %q", verb, hdr[0])
		}
	}
}

// runVerb runs the verb kctx selected: here, or through the operator
// service (viaOperator).
func runVerb(ctx context.Context, kctx *kong.Context, g *Globals, args []string, out *Output) error {
	if viaOperator(kctx, g) {
		return askOperator(ctx, kctx.Selected().Name, args, out)
	}
	return kctx.Run()
}

// bindVerb gives kctx what verbs ask for; the returned function closes the
// manager's connection if one was made.
func bindVerb(ctx context.Context, kctx *kong.Context, globals *Globals, out *Output, log zerolog.Logger) func() {
	// The manager is connected only for verbs that ask for the lifecycle,
	// and only once they have checked their arguments (Lifecycle).
	var lifecycle *runs.Runs
	lazy := Lifecycle(sync.OnceValues(func() (*runs.Runs, error) {
		var err error
		lifecycle, err = connect(ctx, globals, log)
		return lifecycle, err
	}))
	kctx.BindTo(ctx, (*context.Context)(nil))
	kctx.Bind(globals, out, log, lazy)
	_ = kctx.BindToProvider(func() (*runs.Runs, error) { return lazy() })
	return func() {
		if lifecycle != nil {
			lifecycle.Manager.Close()
		}
	}
}

// activatedFiles are the file descriptors systemd passed to this process
// (sd_listen_fds(3): LISTEN_PID, LISTEN_FDS, from fd 3), close-on-exec,
// with the variables unset. go-systemd's activation package does the same,
// but importing it links crypto/tls and x509, whose initialization every
// runctl command paid for at start.
func activatedFiles() []*os.File {
	defer func() {
		os.Unsetenv("LISTEN_PID")
		os.Unsetenv("LISTEN_FDS")
		os.Unsetenv("LISTEN_FDNAMES")
	}()
	pid, err := strconv.Atoi(os.Getenv("LISTEN_PID"))
	if err != nil || pid != os.Getpid() {
		return nil
	}
	n, err := strconv.Atoi(os.Getenv("LISTEN_FDS"))
	if err != nil || n <= 0 {
		return nil
	}
	var files []*os.File
	for fd := 3; fd < 3+n; fd++ {
		syscall.CloseOnExec(fd)
		files = append(files, os.NewFile(uintptr(fd), "LISTEN_FD_"+strconv.Itoa(fd)))
	}
	return files
}
