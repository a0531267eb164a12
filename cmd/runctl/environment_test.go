package main

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// runEnviron is the environment of the run's main process.
func runEnviron(t *testing.T, name string) map[string]string {
	t.Helper()
	environ, err := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/environ", mainPID(t, name))))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, kv := range nulSplit(environ) {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	return env
}

// writeInside writes a file at path inside the sandbox, removed at the
// test's end.
func writeInside(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(sbOf(t).Path(path), []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(sbOf(t).Path(path)) })
}

// --env-file puts its variables in the run's spec as -E does: -E wins,
// the values stay out of what every local user can read, and the argv is
// exactly as typed.
func TestRunEnvFile(t *testing.T) {
	shared(t)
	name := runName(t)
	file := "/run/" + name + ".env"
	writeInside(t, file, "# robot settings\nROBOT_TOKEN=envfile-s3cr3t\nexport ROS_DOMAIN_ID=\"7\"\nOVERRIDDEN=from-file\n", 0o600)
	r := runctl(t, "run", "-d", "-n", name, "--env-file", file, "-E", "OVERRIDDEN=from-flag", "--", "sh", "-c", "sleep 1000; : $ROBOT_TOKEN")
	if r.code != 0 {
		t.Fatal(r)
	}
	env := runEnviron(t, name)
	for k, want := range map[string]string{"ROBOT_TOKEN": "envfile-s3cr3t", "ROS_DOMAIN_ID": "7", "OVERRIDDEN": "from-flag"} {
		if env[k] != want {
			t.Errorf("the run's %s = %q, want %q", k, env[k], want)
		}
	}
	show := inside(t, "systemctl", "show", "runctl-"+name+".service")
	unitFile := inside(t, "cat", "/run/systemd/transient/runctl-"+name+".service")
	if strings.Contains(show+unitFile, "envfile-s3cr3t") {
		t.Errorf("the env-file's secret is readable in systemctl show or the transient unit file")
	}
	cmdline, _ := os.ReadFile(sbOf(t).Path(fmt.Sprintf("/proc/%d/cmdline", mainPID(t, name))))
	if got := strings.Join(nulSplit(cmdline), " "); got != "sh -c sleep 1000; : $ROBOT_TOKEN" {
		t.Errorf("argv %q, want exactly as typed", got)
	}
	// The file is read at launch: a restart replays the spec, not the file.
	writeInside(t, file, "ROBOT_TOKEN=changed\n", 0o600)
	if r := runctl(t, "restart", name); r.code != 0 {
		t.Fatal(r)
	}
	if got := runEnviron(t, name)["ROBOT_TOKEN"]; got != "envfile-s3cr3t" {
		t.Errorf("after restart ROBOT_TOKEN = %q, want the value read at launch", got)
	}
	// A bad line is refused by line number, without its value.
	writeInside(t, file, "GOOD=1\nthis-is-no-assignment s3cr3t\n", 0o600)
	if r := runctl(t, "run", "-d", "-n", runName(t), "--env-file", file, "--", "true"); r.code != 2 || !strings.Contains(r.stderr, "line 2: want NAME=VALUE") || strings.Contains(r.stderr, "s3cr3t") {
		t.Errorf("bad env-file: %v", r)
	}
}

// --source gives the run what a ROS-style setup.bash exports (bash-only
// syntax included), sourced in the run's directory; the command stays
// exactly as typed. With -H the remote runctl sources it where the run
// starts, although -H sends no environment (--clean-env).
func TestRunSource(t *testing.T) {
	shared(t)
	name := runName(t)
	setup := "/run/" + name + ".setup.bash"
	writeInside(t, setup, `# a ROS-like setup file: bash syntax, output, relative paths
echo "sourcing setup"
declare -a parts=(/opt/ros/jazzy/bin "$PATH")
export PATH="$(IFS=:; echo "${parts[*]}")"
export ROS_DISTRO=jazzy
export SOURCED_IN="$PWD"
export SEEN_ARGS="$#"
unset DROP_ME
`, 0o644)
	cmd := runctlCmd(t, "/usr/share", "run", "-d", "-n", name, "--source", setup, "-E", "ROS_DISTRO=humble", "--", "sh", "-c", "sleep 1000")
	cmd.Env = append(cmd.Env, "DROP_ME=1", "KEPT=yes")
	if r := finish(t, cmd); r.code != 0 {
		t.Fatal(r)
	}
	env := runEnviron(t, name)
	for k, want := range map[string]string{"ROS_DISTRO": "humble", "SOURCED_IN": "/usr/share", "SEEN_ARGS": "0", "KEPT": "yes"} {
		if env[k] != want {
			t.Errorf("the run's %s = %q, want %q", k, env[k], want)
		}
	}
	if !strings.HasPrefix(env["PATH"], "/opt/ros/jazzy/bin:") {
		t.Errorf("the run's PATH = %q, want the setup file's first", env["PATH"])
	}
	if _, ok := env["DROP_ME"]; ok {
		t.Errorf("a variable the setup file unset reached the run")
	}
	if r := runctl(t, "run", "-d", "-n", runName(t), "--source", "/run/no-such-setup.bash", "--", "true"); r.code != 2 || !strings.Contains(r.stderr, "invalid --source /run/no-such-setup.bash") {
		t.Errorf("missing --source file: %v", r)
	}

	// -H: the stand-in ssh runs the remote command here.
	fake, dir := sshStandIn(t)
	remote := runName(t)
	cmd = runctlCmd(t, "/", "-H", "here-1", "run", "-d", "-n", remote, "--source", setup, "--", "sleep", "1000")
	cmd.Env = append(cmd.Env, "RUNCTL_SSH="+fake, "XDG_RUNTIME_DIR="+dir)
	if r := finish(t, cmd); r.code != 0 {
		t.Fatal(r)
	}
	env = runEnviron(t, remote)
	if env["ROS_DISTRO"] != "jazzy" || !strings.HasPrefix(env["PATH"], "/opt/ros/jazzy/bin:") {
		t.Errorf("-H run: ROS_DISTRO %q, PATH %q; want the setup file's", env["ROS_DISTRO"], env["PATH"])
	}
}
