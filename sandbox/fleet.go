package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// A Fleet is a few robots: each a sandbox in its own network namespace
// running sshd, reachable from the host over a bridge in 10.77.0.0/24.
// Tests talk only to the robots' own addresses.
type Fleet struct {
	Robots []*Sandbox
	// Dir holds the client side: the key, ssh_config and known files.
	Dir string
	// SSHConfig is an ssh_config with Host robot-1..N (root, the test key,
	// BatchMode); use it as `ssh -F SSHConfig`.
	SSHConfig string
	// Key is the private key the robots accept for root.
	Key string

	lock *os.File
}

const (
	fleetBridge = "br-fleet"
	fleetNet    = "10.77.0."
)

// Alias is robot i's ssh_config host name (i counts from 0).
func (f *Fleet) Alias(i int) string { return fmt.Sprintf("robot-%d", i+1) }

// Addr is robot i's address on the bridge.
func (f *Fleet) Addr(i int) string { return fleetNet + strconv.Itoa(11+i) }

// BootFleet boots n robots (basic.target plus ssh.service), each with
// runctl at /usr/local/bin/runctl copied from runctl, and a root key. Only
// one fleet exists at a time on a machine: a lock in StateRoot() says so.
func BootFleet(ctx context.Context, n int, runctl string) (f *Fleet, err error) {
	if err := Available(); err != nil {
		return nil, err
	}
	for _, c := range []string{"ip", "sshd", "ssh", "ssh-keygen"} {
		if _, err := exec.LookPath(c); err != nil {
			if _, err2 := os.Stat("/usr/sbin/" + c); err2 != nil {
				return nil, fmt.Errorf("the fleet harness needs %s (packaging/build-deps.sh test installs it)", c)
			}
		}
	}
	if err := os.MkdirAll(StateRoot(), 0o755); err != nil {
		return nil, err
	}
	lock, err := os.OpenFile(filepath.Join(StateRoot(), "fleet.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		lock.Close()
		return nil, fmt.Errorf("cannot lock the fleet harness: %w", err)
	}
	// Client folders of a fleet whose test was killed (we hold the lock:
	// no other fleet exists).
	stale, _ := filepath.Glob(filepath.Join(StateRoot(), "fleet-*"))
	for _, d := range stale {
		os.RemoveAll(d)
	}
	dir, err := os.MkdirTemp(StateRoot(), "fleet-")
	if err != nil {
		lock.Close()
		return nil, err
	}
	f = &Fleet{Dir: dir, lock: lock, Key: filepath.Join(dir, "id"), SSHConfig: filepath.Join(dir, "ssh_config")}
	defer func() {
		if err != nil {
			f.Close()
			f = nil
		}
	}()
	// A bridge left by a killed run is ours (we hold the lock): replace it.
	ip("link", "del", fleetBridge)
	for _, c := range [][]string{
		{"link", "add", fleetBridge, "type", "bridge"},
		{"addr", "add", fleetNet + "1/24", "dev", fleetBridge},
		{"link", "set", fleetBridge, "up"},
	} {
		if err := ip(c...); err != nil {
			return f, err
		}
	}
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f.Key).CombinedOutput(); err != nil {
		return f, fmt.Errorf("cannot make the test key: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(f.Key + ".pub")
	if err != nil {
		return f, err
	}
	bin, err := os.ReadFile(runctl)
	if err != nil {
		return f, err
	}
	// The robots boot side by side: a boot mostly waits on its manager.
	f.Robots = make([]*Sandbox, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f.Robots[i], errs[i] = Boot(ctx, Options{}) })
	}
	wg.Wait()
	f.Robots = slices.DeleteFunc(f.Robots, func(s *Sandbox) bool { return s == nil }) // Close powers off those that booted
	if err := errors.Join(errs...); err != nil {
		return f, err
	}
	var cfg strings.Builder
	for i := range n {
		if err := f.wire(ctx, i, pub, bin); err != nil {
			return f, err
		}
		fmt.Fprintf(&cfg, "Host %s\n  HostName %s\n", f.Alias(i), f.Addr(i))
	}
	fmt.Fprintf(&cfg, "Host *\n  User root\n  IdentityFile %s\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n  BatchMode yes\n  ConnectTimeout 5\n  LogLevel ERROR\n", f.Key)
	if err := os.WriteFile(f.SSHConfig, []byte(cfg.String()), 0o644); err != nil {
		return f, err
	}
	// sshd answers once it listens; wait for each robot's.
	for i := range f.Robots {
		if err := f.waitSSH(ctx, i); err != nil {
			return f, err
		}
	}
	return f, nil
}

// wire gives robot i its link, address, hostname, key, runctl and sshd.
func (f *Fleet) wire(ctx context.Context, i int, pub, bin []byte) error {
	s := f.Robots[i]
	hostSide, robotSide := fmt.Sprintf("fl%d-h", i), fmt.Sprintf("fl%d-c", i)
	ip("link", "del", hostSide) // left by a killed run
	pid := strconv.Itoa(s.PID)
	for _, c := range [][]string{
		{"link", "add", hostSide, "type", "veth", "peer", "name", robotSide},
		{"link", "set", hostSide, "master", fleetBridge, "up"},
		{"link", "set", robotSide, "netns", pid},
	} {
		if err := ip(c...); err != nil {
			return err
		}
	}
	for _, c := range [][]string{
		{"link", "set", robotSide, "name", "eth0"},
		{"addr", "add", f.Addr(i) + "/24", "dev", "eth0"},
		{"link", "set", "eth0", "up"},
		{"link", "set", "lo", "up"},
	} {
		if out, err := exec.CommandContext(ctx, "nsenter", append([]string{"-t", pid, "-n", "ip"}, c...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s in robot %d: %v\n%s", strings.Join(c, " "), i+1, err, out)
		}
	}
	if err := os.MkdirAll(s.Path("/root/.ssh"), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(s.Path("/root/.ssh/authorized_keys"), pub, 0o600); err != nil {
		return err
	}
	// A robot's root starts with empty shell start files, as on a fresh
	// install: the overlay shows the host's, and Debian's bash reads
	// ~/.bashrc for every ssh command (a pyenv init on the machines this is
	// developed on: 0.5 s of CPU per command).
	for _, f := range []string{"/root/.bashrc", "/root/.profile"} {
		if err := os.WriteFile(s.Path(f), nil, 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(s.Path("/usr/local/bin/runctl"), bin, 0o755); err != nil {
		return err
	}
	// Tests connect to one robot from several goroutines at once: sshd's
	// default MaxStartups (10 unauthenticated, then drops at random) would
	// refuse some of them.
	if err := os.MkdirAll(s.Path("/etc/ssh/sshd_config.d"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(s.Path("/etc/ssh/sshd_config.d/runctl-fleet.conf"), []byte("MaxStartups 200\n"), 0o644); err != nil {
		return err
	}
	for _, c := range [][]string{{"hostname", f.Alias(i)}, {"systemctl", "start", "ssh.service"}} {
		if out, err := s.Command(ctx, c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s in robot %d: %v\n%s", strings.Join(c, " "), i+1, err, out)
		}
	}
	return nil
}

// waitSSH returns once robot i's sshd runs a command.
func (f *Fleet) waitSSH(ctx context.Context, i int) error {
	var out []byte
	var err error
	for range 50 {
		out, err = f.SSH(ctx, i, "true").CombinedOutput()
		if err == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("robot %d does not answer ssh: %v\n%s", i+1, err, out)
}

// SSH prepares `ssh -F SSHConfig robot-i args...`.
func (f *Fleet) SSH(ctx context.Context, i int, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "ssh", append([]string{"-F", f.SSHConfig, f.Alias(i)}, args...)...)
	cmd.WaitDelay = WaitDelay
	return cmd
}

// LinkDown takes robot i's link down inside its namespace: ssh to it then
// fails with "No route to host". LinkUp undoes it.
func (f *Fleet) LinkDown(ctx context.Context, i int) error { return f.link(ctx, i, "down") }

// LinkUp brings robot i's link back.
func (f *Fleet) LinkUp(ctx context.Context, i int) error { return f.link(ctx, i, "up") }

func (f *Fleet) link(ctx context.Context, i int, state string) error {
	out, err := exec.CommandContext(ctx, "nsenter", "-t", strconv.Itoa(f.Robots[i].PID), "-n", "ip", "link", "set", "eth0", state).CombinedOutput()
	if err != nil {
		return fmt.Errorf("cannot set robot %d's link %s: %v\n%s", i+1, state, err, out)
	}
	return nil
}

// Close powers the robots off and removes the links and the client folder.
func (f *Fleet) Close() error {
	var errs []error
	for i, s := range f.Robots {
		if err := s.Close(); err != nil {
			errs = append(errs, err)
		}
		ip("link", "del", fmt.Sprintf("fl%d-h", i))
	}
	ip("link", "del", fleetBridge)
	os.RemoveAll(f.Dir)
	if f.lock != nil {
		f.lock.Close()
	}
	return errors.Join(errs...)
}

func ip(args ...string) error {
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
