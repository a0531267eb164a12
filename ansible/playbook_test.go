package ansible_test

// The runctl.runctl collection driven by Debian's ansible-core against
// real hosts: three robots, each a real systemd in its own network
// namespace running sshd (sandbox.BootFleet), booted once for the package.
// ansible-playbook runs on the host side with the collection from this
// checkout; traffic goes only to the robots' own addresses.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runctl/runctl/cli/clitest"
	"github.com/runctl/runctl/sandbox"
)

var (
	fl *sandbox.Fleet
	// work holds runctl, the inventory, Ansible's home and its temporary
	// files.
	work     string
	bootOnce sync.Once
	bootErr  error
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		if os.Getenv(sandbox.SkipEnv) == "1" {
			fmt.Fprintf(os.Stderr, "%s=1: Ansible tests against real hosts will be skipped\n", sandbox.SkipEnv)
			return m.Run()
		}
		for _, c := range []string{"ansible-playbook", "ansible-doc", "ansible-test"} {
			if _, err := exec.LookPath(c); err != nil {
				fmt.Fprintf(os.Stderr, "the Ansible tests need %s, from Debian's ansible-core (packaging/build-deps.sh test installs it)\n", c)
				return 1
			}
		}
		os.MkdirAll(sandbox.StateRoot(), 0o755)
		dir, err := os.MkdirTemp(sandbox.StateRoot(), "ansible-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		work = dir
		code := m.Run()
		if fl != nil {
			if err := fl.Close(); err != nil {
				fmt.Fprintf(os.Stderr, "fleet teardown: %v\n", err)
				if code == 0 {
					code = 1
				}
			}
		}
		return code
	}())
}

// need boots the robots, once for the package, with the runctl of this
// checkout.
func need(t *testing.T) {
	t.Helper()
	if work == "" {
		t.Skipf("no test robots (%s=1)", sandbox.SkipEnv)
	}
	bootOnce.Do(func() {
		build := exec.Command("go", "build", "-o", work+"/runctl", "../cmd/runctl")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			bootErr = fmt.Errorf("cannot build runctl: %v\n%s", err, out)
			return
		}
		fl, bootErr = sandbox.BootFleet(context.Background(), 3, work+"/runctl")
		if bootErr != nil {
			bootErr = fmt.Errorf("cannot boot the test robots: %w\n(run as root with openssh-server and iproute2 installed: packaging/build-deps.sh test)", bootErr)
		}
	})
	if bootErr != nil {
		t.Fatal(bootErr)
	}
}

// ansibleEnv is the environment of the Ansible commands: the collection
// from this checkout, Ansible's files under work (never the host's
// ~/.ansible), no bytecode written into the checkout, and with the robots
// booted their ssh_config, one ssh session per task (pipelining) and no
// connection left behind (no ControlMaster).
func ansibleEnv(t *testing.T) []string {
	t.Helper()
	coll, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	// An empty configuration: no ansible.cfg of the folder or the host.
	if err := os.WriteFile(filepath.Join(home, "ansible.cfg"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"PYTHONDONTWRITEBYTECODE=1",
		"HOME="+home,
		"ANSIBLE_HOME="+filepath.Join(home, ".ansible"),
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(home, "tmp"),
		"ANSIBLE_CONFIG="+filepath.Join(home, "ansible.cfg"),
		"ANSIBLE_COLLECTIONS_PATH="+coll,
		"ANSIBLE_COLLECTIONS_SCAN_SYS_PATH=false",
		"ANSIBLE_PIPELINING=true",
		"ANSIBLE_HOST_KEY_CHECKING=false",
		"ANSIBLE_RETRY_FILES_ENABLED=false",
		"ANSIBLE_NOCOLOR=1",
		"ANSIBLE_FORCE_COLOR=0",
		"ANSIBLE_STDOUT_CALLBACK=default",
	)
	if fl != nil {
		env = append(env, "ANSIBLE_SSH_ARGS=-F "+fl.SSHConfig)
	}
	return env
}

// inventory lists the robots in group robots, with runctl on their PATH.
func inventory(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("[robots]\n")
	for i := range fl.Robots {
		b.WriteString(fl.Alias(i) + "\n")
	}
	b.WriteString("[robots:vars]\nansible_python_interpreter=/usr/bin/python3\n")
	f := filepath.Join(work, "hosts")
	if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

type play struct {
	out  string
	code int
}

// playbook runs ansible-playbook on testdata/BOOK with extra vars
// (NAME=VALUE) and options (--check).
func playbook(t *testing.T, book string, extra ...string) play {
	t.Helper()
	need(t)
	// A playbook takes seconds; minutes on a machine under heavy load.
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	args := []string{"-i", inventory(t), "-v", filepath.Join("testdata", book)}
	for _, e := range extra {
		if strings.HasPrefix(e, "--") {
			args = append(args, e)
		} else {
			args = append(args, "-e", e)
		}
	}
	cmd := exec.CommandContext(ctx, "ansible-playbook", args...)
	cmd.Env = ansibleEnv(t)
	cmd.WaitDelay = sandbox.WaitDelay
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := clitest.ExitCode(err)
	if code < 0 || ctx.Err() != nil {
		t.Fatalf("cannot run ansible-playbook %s: %v (%v)\n%s", book, err, ctx.Err(), out.String())
	}
	return play{out.String(), code}
}

var recapLine = regexp.MustCompile(`(?m)^(robot-\d+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)`)

// recap is the PLAY RECAP: per robot, ok, changed, unreachable, failed.
func (p play) recap(t *testing.T) map[string][4]int {
	t.Helper()
	out := map[string][4]int{}
	for _, m := range recapLine.FindAllStringSubmatch(p.out, -1) {
		var n [4]int
		for i := range n {
			n[i], _ = strconv.Atoi(m[i+2])
		}
		out[m[1]] = n
	}
	if len(out) == 0 {
		t.Fatalf("no PLAY RECAP in ansible-playbook's output:\n%s", p.out)
	}
	return out
}

// pids are the pids of robot i's runs, by name, from runctl ls --json
// run inside the robot.
func pids(t *testing.T, i int) map[string]uint32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := fl.Robots[i].Command(ctx, "/usr/local/bin/runctl", "--json", "ls").Output()
	if err != nil {
		t.Fatalf("robot %d: runctl ls: %v", i+1, err)
	}
	var runs []struct {
		Name  string `json:"name"`
		PID   uint32 `json:"pid"`
		Stack string `json:"stack"`
	}
	if err := json.Unmarshal(out, &runs); err != nil {
		t.Fatalf("robot %d: runctl ls --json: %v\n%s", i+1, err, out)
	}
	m := map[string]uint32{}
	for _, r := range runs {
		if r.Stack == "robot" {
			m[r.Name] = r.PID
		}
	}
	return m
}

// plannerVersion is the PLANNER_VERSION robot i's planner was made with,
// from runctl export inside the robot.
func plannerVersion(t *testing.T, i int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	out, err := fl.Robots[i].Command(ctx, "/usr/local/bin/runctl", "--json", "export", "planner").Output()
	if err != nil {
		t.Fatalf("robot %d: runctl export planner: %v", i+1, err)
	}
	var f struct {
		Runs []struct {
			Env map[string]string `json:"env"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(out, &f); err != nil || len(f.Runs) != 1 {
		t.Fatalf("robot %d: runctl export planner: %v\n%s", i+1, err, out)
	}
	return f.Runs[0].Env["PLANNER_VERSION"]
}

func wantRecap(t *testing.T, step string, p play, want map[string][4]int) {
	t.Helper()
	got := p.recap(t)
	for host, w := range want {
		if got[host] != w {
			t.Errorf("%s: %s's recap is ok, changed, unreachable, failed = %v, want %v\n%s", step, host, got[host], w, p.out)
		}
	}
	for host := range got {
		if _, ok := want[host]; !ok {
			t.Errorf("%s: %s is in the recap (%v), want it untouched\n%s", step, host, got[host], p.out)
		}
	}
}

// TestPlaybookDeploysAStackToTheFleetAndRollsIt is issue 26's fleet story:
// deploy a 4-node stack to 3 robots, run the playbook again (nothing
// changes), change one node in check mode (reported, not done), then for
// real (one change per robot), then roll a new
// version one robot at a time where robot-2's fails: the play stops there
// and robot-3 keeps what it ran.
func TestPlaybookDeploysAStackToTheFleetAndRollsIt(t *testing.T) {
	need(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := range fl.Robots {
			fl.Robots[i].Command(ctx, "/usr/local/bin/runctl", "rm", "-f", "driver", "perception", "planner", "bridge").Run()
		}
	})
	all := func(ok, changed, failed int) map[string][4]int {
		return map[string][4]int{"robot-1": {ok, changed, 0, failed}, "robot-2": {ok, changed, 0, failed}, "robot-3": {ok, changed, 0, failed}}
	}

	p := playbook(t, "robot-stack.yml")
	if p.code != 0 {
		t.Fatalf("deploy: ansible-playbook exited %d\n%s", p.code, p.out)
	}
	wantRecap(t, "deploy", p, all(2, 1, 0))
	before := make([]map[string]uint32, len(fl.Robots))
	for i := range fl.Robots {
		before[i] = pids(t, i)
		if len(before[i]) != 4 {
			t.Fatalf("deploy: robot %d runs %v, want the 4 nodes of stack robot", i+1, before[i])
		}
	}

	p = playbook(t, "robot-stack.yml")
	if p.code != 0 {
		t.Fatalf("again: ansible-playbook exited %d\n%s", p.code, p.out)
	}
	wantRecap(t, "again", p, all(2, 0, 0))

	p = playbook(t, "robot-stack.yml", "planner_version=2", "--check")
	if p.code != 0 {
		t.Fatalf("planner 2, check mode: ansible-playbook exited %d\n%s", p.code, p.out)
	}
	wantRecap(t, "planner 2, check mode", p, all(2, 1, 0))
	for i := range fl.Robots {
		if now := pids(t, i); fmt.Sprint(now) != fmt.Sprint(before[i]) {
			t.Errorf("planner 2, check mode: robot %d's runs went from %v to %v; want them untouched", i+1, before[i], now)
		}
	}

	p = playbook(t, "robot-stack.yml", "planner_version=2")
	if p.code != 0 {
		t.Fatalf("planner 2: ansible-playbook exited %d\n%s", p.code, p.out)
	}
	wantRecap(t, "planner 2", p, all(2, 1, 0))
	if !strings.Contains(p.out, "changed runs: ['planner']") {
		t.Errorf("planner 2: the module does not report planner alone as changed:\n%s", p.out)
	}
	for i := range fl.Robots {
		now := pids(t, i)
		for name, pid := range before[i] {
			if moved := now[name] != pid; moved != (name == "planner") {
				t.Errorf("planner 2: robot %d's %s went from pid %d to %d; want only planner replaced", i+1, name, pid, now[name])
			}
		}
		before[i] = now
	}

	p = playbook(t, "robot-stack.yml", "planner_version=3", "roll_serial=1")
	if p.code == 0 {
		t.Fatalf("roll: ansible-playbook exited 0, want a failure at robot-2\n%s", p.out)
	}
	wantRecap(t, "roll", p, map[string][4]int{"robot-1": {2, 1, 0, 0}, "robot-2": {0, 0, 0, 1}})
	if !strings.Contains(p.out, "planner: ") {
		t.Errorf("roll: robot-2's failure does not name the planner:\n%s", p.out)
	}
	for i, want := range []string{"3", "", "2"} {
		if want == "" {
			continue
		}
		if v := plannerVersion(t, i); v != want {
			t.Errorf("roll: robot %d's planner is version %q, want %q", i+1, v, want)
		}
	}
	if now := pids(t, 2); fmt.Sprint(now) != fmt.Sprint(before[2]) {
		t.Errorf("roll: robot-3's runs went from %v to %v; want them untouched", before[2], now)
	}
}

// TestRunModule drives one run through its states on robot-1; the
// playbook asserts each step's result. The env value is never printed.
func TestRunModule(t *testing.T) {
	need(t)
	p := playbook(t, "one-run.yml")
	if p.code != 0 {
		t.Fatalf("ansible-playbook exited %d\n%s", p.code, p.out)
	}
	if strings.Contains(p.out, "tok-7f3a91c2e5") {
		t.Errorf("the env value shows in ansible-playbook -v's output:\n%s", p.out)
	}
	if rc := p.recap(t)["robot-1"]; rc[3] != 0 || rc[1] == 0 {
		t.Errorf("recap of robot-1: %v", rc)
	}
}
