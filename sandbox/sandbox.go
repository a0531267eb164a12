// Package sandbox boots a throwaway real systemd as PID 1 of fresh namespaces,
// over an overlay of the host's root, so that tests, the demo and the benchmarks
// talk to a real manager on machines whose PID 1 is not systemd.
//
// Boot follows a recipe with three hazards to avoid: without a private /tmp,
// systemd-tmpfiles wipes the host's; without a cgroup namespace, the sandboxed
// systemd takes over the host's root cgroups; and only our own pids may be
// ended.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Options configure Boot.
type Options struct {
	// Dir holds the sandbox's state (mount points, and the layer when
	// Keep is set). It must not be under /tmp. Empty: StateRoot()/ID.
	Dir string
	// Target is the unit systemd boots to; default basic.target.
	Target string
	// Keep makes the overlay's upper layer a plain folder in Dir, so a second
	// Boot over the same Dir sees what the first one wrote (a reboot).
	Keep bool
	// Mask lists units masked inside, on top of NeverStart.
	Mask []string
	// Share lists host folders bound at the same path inside, so that a
	// test process outside and systemd inside see the same files. Absolute,
	// without white space, and not under /tmp, /run, /proc, /sys or /dev,
	// which the sandbox mounts afresh.
	Share []string
	// Suite boots the systemd of a Debian release (a key of Suites) from a
	// root built with debootstrap (EnsureRoot) instead of the host's.
	// Empty: the host's root and systemd.
	Suite string
}

// NeverStart are units masked in every sandbox: gettys would open the
// host's consoles, which the sandbox's /dev is.
var NeverStart = []string{"getty.target", "console-getty.service", "getty@.service", "serial-getty@.service", "container-getty@.service"}

// kernelSetup are masked in every sandbox too: they load modules, write
// the kernel's settings (those not namespaced are the host's) and mount
// its debug file systems, which a sandbox must not touch; and they cost
// each boot a tenth of its CPU.
var kernelSetup = []string{"modprobe@.service", "systemd-modules-load.service", "systemd-sysctl.service",
	"sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-kernel-config.mount", "sys-fs-fuse-connections.mount", "dev-hugepages.mount",
	"systemd-update-utmp.service", "systemd-update-utmp-runlevel.service"}

// Sandbox is a running systemd in its own namespaces.
type Sandbox struct {
	ID  string
	Dir string
	// PID is the host pid of the sandbox's systemd (PID 1 inside).
	PID int

	unshare *exec.Cmd
	exited  chan struct{}
	cgroups []string
	console *tailBuffer
	// consoleFile is the pty master whose terminal is /dev/console inside;
	// consoleHold keeps that terminal open, so that reading the master
	// never ends: systemd opens and closes /dev/console for each status
	// line, and once the reader had seen the last close, the next lines
	// filled the pty and blocked PID 1.
	consoleFile, consoleHold *os.File
}

// Console is the last output of the sandbox's systemd and of its launcher:
// its status lines, and with Suite its log (--log-target=console), not the
// host's kernel log.
func (s *Sandbox) Console() string { return s.console.String() }

// tailBuffer keeps the last 256 KiB written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 256 << 10

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > tailMax {
		b.buf = append(b.buf[:0], b.buf[len(b.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

const cgroupRoot = "/sys/fs/cgroup"

// StateRoot is where sandboxes keep their state unless told otherwise:
// $RUNCTL_SANDBOX_DIR, or /var/tmp/runctl-sandbox (never /tmp).
func StateRoot() string {
	if d := os.Getenv("RUNCTL_SANDBOX_DIR"); d != "" {
		return d
	}
	return "/var/tmp/runctl-sandbox"
}

// Available says why a sandbox cannot be booted here, or nil if it can.
func Available() error {
	if os.Geteuid() != 0 {
		return errors.New("booting a systemd sandbox needs root (namespaces, mounts, cgroups)")
	}
	for _, p := range []string{"/lib/systemd/systemd", cgroupRoot + "/unified/cgroup.procs", cgroupRoot + "/systemd/cgroup.procs"} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("booting a systemd sandbox needs %s: %w", p, err)
		}
	}
	for _, c := range []string{"unshare", "nsenter"} {
		if _, err := exec.LookPath(c); err != nil {
			return fmt.Errorf("booting a systemd sandbox needs %s (util-linux)", c)
		}
	}
	return nil
}

// Boot starts systemd in new namespaces and returns once the manager reports
// running (or degraded).
func Boot(ctx context.Context, opts Options) (*Sandbox, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	sweep()
	id := "sb-" + randomID()
	dir := opts.Dir
	if dir == "" {
		dir = filepath.Join(StateRoot(), id)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if dir == "/tmp" || strings.HasPrefix(dir, "/tmp/") {
		return nil, fmt.Errorf("sandbox state %s must not be under /tmp", dir)
	}
	for _, p := range opts.Share {
		if !filepath.IsAbs(p) || strings.ContainsAny(p, " \t\n") || p != filepath.Clean(p) || p == "/" {
			return nil, fmt.Errorf("cannot share %q with the sandbox: give a clean absolute path without white space", p)
		}
		for _, fresh := range []string{"/tmp", "/run", "/proc", "/sys", "/dev"} {
			if p == fresh || strings.HasPrefix(p, fresh+"/") {
				return nil, fmt.Errorf("cannot share %s with the sandbox: %s is mounted afresh inside", p, fresh)
			}
		}
	}
	lower, logTarget, consolePath, unified := "/", "", "", ""
	if opts.Suite != "" {
		if lower, err = EnsureRoot(opts.Suite); err != nil {
			return nil, err
		}
		// Not the host's kmsg, where systemd 247 next to other sandboxes
		// was seen to wedge.
		logTarget = "--log-target=console"
		if unifiedOnly[opts.Suite] {
			unified = "1"
		}
	}
	target := opts.Target
	if target == "" {
		target = "basic.target"
	}
	for _, d := range []string{filepath.Join(dir, "layer"), filepath.Join(dir, "root")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Sandbox{ID: id, Dir: dir, exited: make(chan struct{}), console: &tailBuffer{}}
	// /dev/console inside is a pty's terminal, read into Console(): not the
	// host's console, a serial port here, where every status line of every
	// boot went out at 115200 baud.
	f, pts, err := openPTY()
	if err == nil {
		s.consoleHold, err = os.OpenFile(pts, os.O_RDWR|unix.O_NOCTTY, 0)
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot make the sandbox's console: %w", err)
	}
	s.consoleFile, consolePath = f, pts
	go io.Copy(s.console, f)
	for _, h := range []string{"unified", "systemd"} {
		cg := filepath.Join(cgroupRoot, h, "runctl-"+id)
		if err := os.Mkdir(cg, 0o755); err != nil {
			s.removeCgroups()
			return nil, fmt.Errorf("cannot create cgroup %s: %w", cg, err)
		}
		s.cgroups = append(s.cgroups, cg)
	}

	layerMount := `mount -t tmpfs -o mode=0755 tmpfs "$D/layer"`
	if opts.Keep {
		layerMount = ":"
	}
	if err := seedMasks(filepath.Join(dir, "seed"), lower, slices.Concat(NeverStart, kernelSetup, opts.Mask)); err != nil {
		s.removeCgroups()
		return nil, fmt.Errorf("cannot prepare the sandbox's masks: %w", err)
	}
	// The outer shell moves itself into the sandbox's cgroups, then becomes
	// unshare, whose child sets up the mounts and execs systemd as PID 1.
	inner := `set -e
D="$1"
` + layerMount + `
mkdir -p "$D/layer/upper" "$D/layer/work"
mount -t overlay overlay -o "lowerdir=$RUNCTL_SANDBOX_LOWER,upperdir=$D/layer/upper,workdir=$D/layer/work" "$D/root"
cp -a "$D/seed/." "$D/root/"
mount --rbind /dev "$D/root/dev"
mount --bind "$RUNCTL_SANDBOX_CONSOLE" "$D/root/dev/console"
mount --bind /sys "$D/root/sys"
if [ -n "$RUNCTL_SANDBOX_UNIFIED" ]; then
mount -t cgroup2 cgroup2 "$D/root/sys/fs/cgroup"
else
mount -t tmpfs -o mode=0755 tmpfs "$D/root/sys/fs/cgroup"
mkdir "$D/root/sys/fs/cgroup/unified" "$D/root/sys/fs/cgroup/systemd"
mount -t cgroup2 cgroup2 "$D/root/sys/fs/cgroup/unified"
mount -t cgroup -o none,name=systemd cgroup "$D/root/sys/fs/cgroup/systemd"
fi
mount -t proc proc "$D/root/proc"
cat /proc/sys/kernel/random/uuid > "$D/layer/boot_id"
mount --bind "$D/layer/boot_id" "$D/root/proc/sys/kernel/random/boot_id"
mount -t tmpfs -o mode=1777 tmpfs "$D/root/tmp"
mount -t tmpfs -o mode=0755 tmpfs "$D/root/run"
for p in $RUNCTL_SANDBOX_SHARE; do mkdir -p "$D/root$p"; mount --bind "$p" "$D/root$p"; done
cd "$D/root"
mkdir -p .oldroot
pivot_root . .oldroot
umount -l /.oldroot
rmdir /.oldroot
exec env -i container=runctl-sandbox PATH=/usr/sbin:/usr/bin:/sbin:/bin /lib/systemd/systemd --system --unit="$2" $RUNCTL_SANDBOX_LOG
`
	outer := `set -e
for cg in "$@"; do echo $$ > "$cg/cgroup.procs"; done
exec unshare --kill-child --pid --fork --mount --uts --ipc --net --cgroup --propagation private sh -c "$RUNCTL_SANDBOX_INNER" sh "$RUNCTL_SANDBOX_DIR_ARG" "$RUNCTL_SANDBOX_TARGET"
`
	cmd := exec.Command("/bin/sh", append([]string{"-c", outer, "sh"}, s.cgroups...)...)
	cmd.Env = append(os.Environ(), "RUNCTL_SANDBOX_INNER="+inner, "RUNCTL_SANDBOX_DIR_ARG="+dir, "RUNCTL_SANDBOX_TARGET="+target,
		"RUNCTL_SANDBOX_LOWER="+lower, "RUNCTL_SANDBOX_LOG="+logTarget, "RUNCTL_SANDBOX_CONSOLE="+consolePath, "RUNCTL_SANDBOX_UNIFIED="+unified,
		"RUNCTL_SANDBOX_SHARE="+strings.Join(opts.Share, " "))
	out := s.console
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		s.removeCgroups()
		return nil, fmt.Errorf("cannot start unshare: %w", err)
	}
	s.unshare = cmd
	go func() {
		err := cmd.Wait()
		if err != nil {
			fmt.Fprintf(out, "\nsandbox %s: unshare ended: %v\n", id, err)
		}
		close(s.exited)
	}()

	fail := func(err error) (*Sandbox, error) {
		s.Close()
		if msg := strings.TrimSpace(out.String()); msg != "" {
			err = fmt.Errorf("%w\n%s", err, msg)
		}
		return nil, err
	}
	// Booting is watched by polling /proc and the socket's path: this is
	// the harness, not runctl, and nothing signals these.
	deadline := time.Now().Add(30 * time.Second)
	poll := func(what string, done func() bool) error {
		for !done() {
			select {
			case <-s.exited:
				return errors.New("sandbox exited while booting")
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("sandbox systemd did not %s within 30s", what)
			}
		}
		return nil
	}
	// The child of unshare is systemd; it appears once unshare has forked.
	if err := poll("start", func() bool {
		if pid := childOf(cmd.Process.Pid); pid != 0 && isSystemd(pid) {
			s.PID = pid
		}
		return s.PID != 0
	}); err != nil {
		return fail(err)
	}
	// is-system-running says "offline" until the manager listens.
	if err := poll("listen", func() bool {
		_, err := os.Stat(s.Path("/run/systemd/private"))
		return err == nil
	}); err != nil {
		return fail(err)
	}
	wait := s.Command(ctx, "systemctl", "is-system-running", "--wait")
	state, _ := wait.Output()
	switch st := strings.TrimSpace(string(state)); st {
	case "running", "degraded":
		return s, nil
	default:
		return fail(fmt.Errorf("sandbox systemd did not reach running (state %q)", st))
	}
}

// Command runs name inside the sandbox's namespaces (nsenter -a), in dir "/"
// unless cmd.Dir is changed, which is then taken inside the sandbox.
func (s *Sandbox) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return s.CommandIn(ctx, "/", name, args...)
}

// CommandIn is Command with a working directory inside the sandbox.
//
// When ctx is done, the command is killed as well as nsenter, which forks
// it into the sandbox's pid namespace and forwards no signal; Wait then
// returns within WaitDelay even if something the command started still
// holds its output open.
func (s *Sandbox) CommandIn(ctx context.Context, dir, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(s.PID), "-a", "--wd=" + s.Path(dir), "--", name}, args...)...)
	cmd.Cancel = func() error {
		if c := childOf(cmd.Process.Pid); c != 0 {
			_ = syscall.Kill(c, syscall.SIGKILL)
		}
		return cmd.Process.Kill()
	}
	cmd.WaitDelay = WaitDelay
	return cmd
}

// sigPowerOff is SIGRTMIN+4 as systemd counts it (glibc's SIGRTMIN is 34).
const sigPowerOff = syscall.Signal(34 + 4)

// WaitDelay is how long Wait waits for a command's output to close once
// the command has exited or been killed (exec.Cmd.WaitDelay).
const WaitDelay = 5 * time.Second

// Path maps a path inside the sandbox to one the host can open.
func (s *Sandbox) Path(p string) string {
	return filepath.Join(fmt.Sprintf("/proc/%d/root", s.PID), p)
}

// SystemBus is the sandbox's system bus socket, reachable from the host. Its
// manager's private socket is not: systemd refuses peers outside its pid
// namespace there.
func (s *Sandbox) SystemBus() string { return s.Path("/run/dbus/system_bus_socket") }

// Close powers the sandbox off (SIGKILL to its systemd if that does not end
// it in time) and removes its cgroups and state folder.
func (s *Sandbox) Close() error { return s.end(true) }

// PowerCut ends the sandbox as a power cut would: its systemd (PID 1) is
// killed with SIGKILL, so nothing is stopped, recorded or flushed, and
// every process inside dies with it. A kept layer (Options.Keep) is booted
// again as it was left.
func (s *Sandbox) PowerCut() error { return s.end(false) }

// BootID is the boot id of the sandbox's current boot, as systemd,
// journald and every program inside read it: each boot gets its own, a
// random UUID bound over /proc/sys/kernel/random/boot_id.
func (s *Sandbox) BootID() (string, error) {
	b, err := os.ReadFile(s.Path("/proc/sys/kernel/random/boot_id"))
	return strings.TrimSpace(string(b)), err
}

func (s *Sandbox) end(poweroff bool) error {
	if s.unshare != nil && s.unshare.Process != nil {
		if s.PID != 0 {
			if poweroff {
				// SIGRTMIN+4 starts poweroff.target as systemctl
				// poweroff does, without its process or logind (seen
				// still running 40 s later on a loaded machine).
				_ = syscall.Kill(s.PID, sigPowerOff)
			} else {
				_ = syscall.Kill(s.PID, syscall.SIGKILL)
			}
		}
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			if s.PID != 0 {
				_ = syscall.Kill(s.PID, syscall.SIGKILL)
			}
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				_ = s.unshare.Process.Kill()
				<-s.exited
			}
		}
	}
	err := s.removeCgroups()
	if s.consoleFile != nil {
		s.consoleHold.Close()
		s.consoleFile.Close()
	}
	removeState(s.Dir)
	return err
}

// seedMasks makes seed the tree of links to /dev/null that masks, copied
// over the sandbox's root in one go at boot: the units, and every
// generator of root (systemd.generator(7)). Generators make units of
// fstab, init scripts, disks and gettys, none of which a sandbox has or
// runctl uses, and they run at every daemon-reload: 20 reloads took 16 s
// and 11 s of CPU with them, 4.5 s and 4 s without.
func seedMasks(seed, root string, units []string) error {
	if err := os.RemoveAll(seed); err != nil {
		return err
	}
	links := map[string]bool{}
	for _, u := range units {
		links["etc/systemd/system/"+u] = true
	}
	for _, k := range []string{"system", "user", "system-environment", "user-environment"} {
		for _, lib := range []string{"lib", "usr/lib"} {
			gs, _ := filepath.Glob(filepath.Join(root, lib, "systemd", k+"-generators", "*"))
			for _, g := range gs {
				links["etc/systemd/"+k+"-generators/"+filepath.Base(g)] = true
			}
		}
	}
	for l := range links {
		p := filepath.Join(seed, l)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.Symlink("/dev/null", p); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroups removes the sandbox's cgroup subtrees, leaves first.
func (s *Sandbox) removeCgroups() error {
	var errs []error
	for _, cg := range s.cgroups {
		var dirs []string
		filepath.WalkDir(cg, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := rmdirRetry(dirs[i]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	s.cgroups = nil
	return errors.Join(errs...)
}

// rmdirRetry tolerates the short moment in which the kernel still counts a
// just-exited process in a cgroup.
func rmdirRetry(p string) error {
	var err error
	for range 100 {
		if err = syscall.Rmdir(p); err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cannot remove cgroup %s: %w", p, err)
}

// sweep ends sandboxes whose launcher died without tearing them down (a
// test binary killed by a timeout): their unshare was reparented to PID 1.
// Only sandboxes of this harness are touched: the runctl-sb-* cgroups.
func sweep() {
	cgs, _ := filepath.Glob(filepath.Join(cgroupRoot, "unified", "runctl-sb-*"))
	for _, cg := range cgs {
		id := strings.TrimPrefix(filepath.Base(cg), "runctl-")
		b, _ := os.ReadFile(filepath.Join(cg, "cgroup.procs"))
		procs := strings.Fields(string(b))
		// Empty: a teardown that did not finish, unless another Boot has
		// just made it and is about to move in.
		fi, err := os.Stat(cg)
		orphaned := len(procs) == 0 && err == nil && time.Since(fi.ModTime()) > time.Minute
		for _, p := range procs {
			pid, _ := strconv.Atoi(p)
			if ppid(pid) == 1 { // the unshare, left without its launcher
				orphaned = true
				if c := childOf(pid); c != 0 {
					syscall.Kill(c, syscall.SIGKILL)
				}
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if !orphaned {
			continue
		}
		s := &Sandbox{cgroups: []string{cg, filepath.Join(cgroupRoot, "systemd", "runctl-"+id)}}
		s.removeCgroups()
		removeState(filepath.Join(StateRoot(), id))
	}
	// State folders whose cgroup is gone (swept before the seed was
	// removed with them), left for over a minute.
	dirs, _ := filepath.Glob(filepath.Join(StateRoot(), "sb-*"))
	for _, dir := range dirs {
		_, err := os.Stat(filepath.Join(cgroupRoot, "unified", "runctl-"+filepath.Base(dir)))
		if fi, serr := os.Stat(dir); os.IsNotExist(err) && serr == nil && time.Since(fi.ModTime()) > time.Minute {
			removeState(dir)
		}
	}
}

// removeState removes what an ended sandbox leaves in its state folder:
// the empty mount points (the layer was a tmpfs in the sandbox's mount
// namespace, gone with it) and the seed's links; a kept layer (Keep) is
// not empty, so it stays, and so does the folder with it.
func removeState(dir string) {
	os.Remove(filepath.Join(dir, "root"))
	os.Remove(filepath.Join(dir, "layer"))
	os.RemoveAll(filepath.Join(dir, "seed"))
	os.Remove(dir)
}

func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command may hold spaces and parentheses: fields follow the last ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// ChildPID is the first child of pid, 0 if none: the program nsenter forked
// for a Command, to signal it directly (nsenter does not forward signals).
func ChildPID(pid int) int { return childOf(pid) }

func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	c, _ := strconv.Atoi(f[0])
	return c
}

func isSystemd(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.HasSuffix(exe, "/systemd")
}

func randomID() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// openPTY opens a new pseudo-terminal: its master, and its terminal's path.
func openPTY() (*os.File, string, error) {
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, "", err
	}
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		unix.Close(fd)
		return nil, "", err
	}
	return os.NewFile(uintptr(fd), "/dev/ptmx"), "/dev/pts/" + strconv.Itoa(n), nil
}
