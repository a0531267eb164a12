package cli

import (
	"strings"
	"testing"

	"github.com/runctl/runctl/fleet"
)

// What a restricted key lets through, read by runctl's own parser: by
// default the reads and the lifecycle of existing runs; run, rm, enable,
// disable, -E, --uid, -p and --dir only when granted, and programs only
// from the key's list; -H in any spelling never.
func TestServeSSHGrants(t *testing.T) {
	none := &ServeSSHCmd{}
	runOnly := &ServeSSHCmd{Allow: []string{"run"}, AllowProgram: []string{"/usr/bin/sleep"}}
	all := &ServeSSHCmd{Allow: serveSSHGrants, AllowProgram: []string{"/usr/bin/sleep", "/usr/bin/python3"}}
	for _, c := range []struct {
		key     *ServeSSHCmd
		command string
		refused string // "" if allowed; else in the reason
	}{
		{none, "runctl ls", ""},
		{none, "runctl --fleet-protocol=1 --system ps -q", ""},
		{none, "runctl --json status -n 3 a b", ""},
		{none, "runctl logs -fn5 --no-hostname nav", ""},
		{none, "/usr/local/bin/runctl restart -f --timeout 2s nav", ""},
		{none, "runctl stop --all", ""},
		{none, "runctl start nav", ""},
		{none, "runctl --fleet-protocol=1 restart nav", ""},

		// -H and the other fleet flags, however spelled.
		{none, "runctl ls -qH10.77.0.12", "--host cannot be used"},
		{none, "runctl -qH 10.77.0.12 ls", "unknown flag -q"},
		{none, "runctl -H10.77.0.12 ls", "--host cannot be used"},
		{none, "runctl -H=robot-2 ls", "--host cannot be used"},
		{none, "runctl --host=robot-2 ls", "--host cannot be used"},
		{all, "runctl ls --host robot-2", "--host cannot be used"},
		{all, "runctl run -dH10.77.0.12 --clean-env -- /usr/bin/sleep 9", "--host cannot be used"},
		{none, "runctl --ho robot-2 ls", "unknown flag"},
		{none, "runctl --inventory /etc/passwd ls", "--inventory cannot be used"},
		{none, "runctl --remote-runctl /bin/sh ls", "--remote-runctl cannot be used"},
		{all, "runctl serve-ssh --allow run", "serve-ssh cannot be used"},

		// Verbs that change what runs need their grant.
		{none, "runctl run -d -n s -- /bin/cat /etc/shadow", "run needs --allow run"},
		{none, "runctl --fleet-protocol=1 run --clean-env -d -- /usr/bin/sleep 9", "run needs --allow run"},
		{none, "runctl rm -f nav", "rm needs --allow rm"},
		{none, "runctl enable nav", "enable needs --allow enable"},
		{none, "runctl disable --all", "disable needs --allow disable"},
		{none, "runctl restart --update-env nav", "--update-env needs --allow env"},
		{runOnly, "runctl rm nav", "rm needs --allow rm"},

		// run: only the listed programs, as named, and each setting granted.
		{runOnly, "runctl --fleet-protocol=1 run --clean-env -d -n s -- /usr/bin/sleep 9", ""},
		{runOnly, "runctl run --clean-env /usr/bin/sleep 9", ""},
		{runOnly, "runctl run --clean-env -d -- /bin/cat /etc/shadow", `program "/bin/cat" is not allowed`},
		{runOnly, "runctl run --clean-env -d -- sleep 9", `program "sleep" is not allowed`},
		{runOnly, "runctl run --clean-env -d -- /usr/bin/sleep/../../bin/sh", "is not allowed"},
		{&ServeSSHCmd{Allow: []string{"run"}}, "runctl run --clean-env -- /usr/bin/sleep 9", "this key allows no program"},
		// A systemd unit in --after or --wants is started with the run.
		{runOnly, "runctl run --clean-env -d --after nav -- /usr/bin/sleep 9", ""},
		{runOnly, "runctl run --clean-env -d --after network-online.target -- /usr/bin/sleep 9", "needs --allow property"},
		{runOnly, "runctl run --clean-env -d --wants=reboot.target -- /usr/bin/sleep 9", "needs --allow property"},
		{all, "runctl run --clean-env -d --wants=network-online.target -- /usr/bin/sleep 9", ""},
		{runOnly, "runctl run -d -- /usr/bin/sleep 9", "needs --allow env"},
		{runOnly, "runctl run --clean-env -E LD_PRELOAD=/tmp/x.so -- /usr/bin/sleep 9", "--env needs --allow env"},
		{runOnly, "runctl run --clean-env --uid alice -- /usr/bin/sleep 9", "--uid needs --allow uid"},
		{runOnly, "runctl run --clean-env --gid=shadow -- /usr/bin/sleep 9", "--gid needs --allow uid"},
		{runOnly, "runctl run --clean-env -dpUser=root -- /usr/bin/sleep 9", "--property needs --allow property"},
		{runOnly, "runctl run --clean-env -p ExecStartPre=/bin/sh -- /usr/bin/sleep 9", "--property needs --allow property"},
		{runOnly, "runctl run --clean-env --dir /root -- /usr/bin/sleep 9", "--dir needs --allow dir"},
		{runOnly, "runctl run --clean-env --enable -- /usr/bin/sleep 9", "--enable needs --allow enable"},
		{all, "runctl run -d --uid nobody -E A=1 -p MemoryMax=1G --dir /tmp --enable -- /usr/bin/python3 -c 1", ""},
		{all, "runctl run -d -- /usr/bin/python3x", "is not allowed"},

		// The key's own command line is checked too.
		{&ServeSSHCmd{Allow: []string{"everything"}}, "runctl ls", `--allow "everything"`},
		{&ServeSSHCmd{Allow: []string{"run"}, AllowProgram: []string{"sleep"}}, "runctl ls", "not an absolute path"},

		// Not runctl, or shell syntax.
		{all, "cat /etc/shadow", "not a runctl command"},
		{all, "", "not a runctl command"},
		{all, "runctl", "expected one of"},
	} {
		words, err := fleet.SplitWords(c.command)
		if err == nil {
			err = c.key.check(words)
		}
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("serve-ssh %v: %q refused: %v", c.key, c.command, err)
		case c.refused != "" && (err == nil || !strings.Contains(err.Error(), c.refused)):
			t.Errorf("serve-ssh %v: %q: %v; want a refusal saying %q", c.key, c.command, err, c.refused)
		}
	}
}

// Every flag of runctl's command line is either allowed through a
// restricted key, granted, or refused on purpose: a new flag must be
// placed in serveSSHFlags before it can pass.
func TestServeSSHKnowsEveryFlag(t *testing.T) {
	var root CLI
	app := Parser(&root, "test").Model
	for _, f := range app.Flags {
		if _, ok := serveSSHFlags[f.Name]; !ok {
			t.Errorf("global flag --%s is not in serveSSHFlags", f.Name)
		}
	}
	for _, verb := range app.Children {
		if _, ok := serveSSHVerbs[verb.Name]; !ok && verb.Name != "serve-ssh" && verb.Name != "serve-operator" {
			t.Errorf("verb %s is not in serveSSHVerbs", verb.Name)
		}
		for _, f := range verb.Flags {
			if _, ok := serveSSHFlags[f.Name]; !ok {
				t.Errorf("flag --%s of %s is not in serveSSHFlags", f.Name, verb.Name)
			}
		}
	}
}
