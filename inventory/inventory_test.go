package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const iniText = `# robots
lab-1 ansible_host=10.0.0.9

[nav]
robot-1 ansible_host=10.0.0.5 ansible_user=ops
robot-2 ansible_port=2222   ; comment-like words are fields only after the host

[arm]
robot-3
robot-1

[fleet:children]
nav
arm

[fleet:vars]
ansible_user=ignored
`

const yamlText = `---
all:
  hosts:
    lab-1:
      ansible_host: 10.0.0.9
  children:
    fleet:
      children:
        nav:
          hosts:
            robot-1:
              ansible_host: "10.0.0.5"
              ansible_user: ops   # trailing comment
            robot-2:
              ansible_port: 2222
        arm:
          hosts:
            robot-3: {}
            robot-1:
      vars:
        ansible_user: ignored
`

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func names(hs []Host) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Name)
	}
	return strings.Join(s, ",")
}

func TestINIAndYAMLAgree(t *testing.T) {
	ini := strings.Replace(iniText, "   ; comment-like words are fields only after the host", "", 1)
	for _, c := range []struct{ file, text string }{{"hosts", ini}, {"hosts.yml", yamlText}, {"hosts", yamlText}} {
		inv, err := Load(write(t, c.file, c.text))
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		for group, want := range map[string]string{
			"nav":   "robot-1,robot-2",
			"arm":   "robot-3,robot-1",
			"fleet": "robot-1,robot-2,robot-3",
		} {
			hs, err := inv.Group(group)
			if err != nil || names(hs) != want {
				t.Errorf("%s: group %s = %s, %v; want %s", c.file, group, names(hs), err, want)
			}
		}
		all, _ := inv.Group("all")
		if len(all) != 4 {
			t.Errorf("%s: all = %s, want 4 hosts", c.file, names(all))
		}
		if h, _ := inv.Host("robot-1"); h.Addr != "10.0.0.5" || h.User != "ops" || h.Port != 0 {
			t.Errorf("%s: robot-1 = %+v", c.file, h)
		}
		if h, _ := inv.Host("robot-2"); h.Addr != "robot-2" || h.User != "" || h.Port != 2222 {
			t.Errorf("%s: robot-2 = %+v", c.file, h)
		}
		if _, err := inv.Group("nope"); err == nil || !strings.Contains(err.Error(), `no group "nope"`) {
			t.Errorf("%s: unknown group: %v", c.file, err)
		}
	}
}

func TestRefused(t *testing.T) {
	for _, c := range []struct{ file, text, want string }{
		{"h.yml", "all:\n  hosts:\n    - robot-1\n", "lists are not supported"},
		{"h.yml", "all:\n  hosts: &x\n", "anchors"},
		{"h.yml", "all:\n  bogus:\n", `has "bogus"`},
		{"h.yml", "all:\n\thosts:\n", "tabs"},
		{"h.yml", "all:\n  hosts:\n    r1:\n      ansible_port: http\n", "not a port"},
		{"h.yml", "a:\n  b:\n c:\n", "indentation"},
		{"h", "[nav\nr1\n", "unclosed"},
		{"h", "[nav]\nr1 port\n", "key=value"},
		{"h", "[nav]\nr[1:3]\n", "ranges"},
		{"h", "[nav:bogus]\n", "section"},
	} {
		_, err := Load(write(t, c.file, c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one with %q", c.text, err, c.want)
		}
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("a missing inventory file loads")
	}
}

func TestDefaultPaths(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", "/cfg")
	if p := DefaultPaths(); len(p) != 2 || p[0] != "/cfg/runctl/hosts" || p[1] != "/etc/runctl/hosts" {
		t.Fatalf("DefaultPaths = %q", p)
	}
}

// groupWithin runs inv.Group(name), failing the test if it has not
// returned within a minute (the walk it guards against never ends).
func groupWithin(t *testing.T, inv *Inventory, name string) ([]Host, error) {
	t.Helper()
	type result struct {
		hs  []Host
		err error
	}
	done := make(chan result, 1)
	go func() { hs, err := inv.Group(name); done <- result{hs, err} }()
	select {
	case r := <-done:
		return r.hs, r.err
	case <-time.After(time.Minute):
		t.Fatalf("group %s: not walked within a minute", name)
		return nil, nil
	}
}

// Groups are walked once each: a diamond of groups 40 levels deep (2^40
// paths to its bottom) is walked in 80 steps; a cycle and groups nested
// deeper than maxDepth are errors that say so.
func TestGroupWalkLimits(t *testing.T) {
	var b strings.Builder
	for i := range 40 {
		for _, g := range []string{"a", "b"} {
			fmt.Fprintf(&b, "[%s%d:children]\na%d\nb%d\n", g, i, i+1, i+1)
		}
	}
	b.WriteString("[a40]\nr1\nr2\n[b40]\nr2\nr3\n")
	if b.Len() > 2100 {
		t.Fatalf("the diamond inventory is %d bytes", b.Len())
	}
	inv, err := Load(write(t, "hosts", b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if hs, err := groupWithin(t, inv, "a0"); err != nil || names(hs) != "r1,r2,r3" {
		t.Errorf("diamond: a0 = %s, %v; want r1,r2,r3", names(hs), err)
	}

	inv, err = Load(write(t, "hosts", "[a:children]\nb\n[b:children]\nc\n[c:children]\na\n[c]\nr1\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groupWithin(t, inv, "a"); err == nil || !strings.Contains(err.Error(), "form a cycle: a > b > c > a") {
		t.Errorf("a cycle: %v", err)
	}
	inv, err = Load(write(t, "hosts.yml", "a:\n  children:\n    b:\n      children:\n        a:\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := groupWithin(t, inv, "a"); err == nil || !strings.Contains(err.Error(), "form a cycle: a > b > a") {
		t.Errorf("a cycle in YAML: %v", err)
	}

	chain := func(n int) *Inventory {
		var b strings.Builder
		for i := range n - 1 {
			fmt.Fprintf(&b, "[g%d:children]\ng%d\n", i, i+1)
		}
		fmt.Fprintf(&b, "[g%d]\nr1\n", n-1)
		inv, err := Load(write(t, "hosts", b.String()))
		if err != nil {
			t.Fatal(err)
		}
		return inv
	}
	if hs, err := groupWithin(t, chain(maxDepth), "g0"); err != nil || names(hs) != "r1" {
		t.Errorf("%d levels: %s, %v; want r1", maxDepth, names(hs), err)
	}
	if _, err := groupWithin(t, chain(maxDepth+1), "g0"); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("more than %d levels deep (g0 > g1 > g2 > ...)", maxDepth)) {
		t.Errorf("%d levels: %v; want an error", maxDepth+1, err)
	}
}

// 100,000 hosts in one group, named once each, and a group listing
// another twice: every host once, in file order. (Parsing took 52 s when
// each added host was looked for in its group's list.)
func TestManyHosts(t *testing.T) {
	const n = 100_000
	var b strings.Builder
	b.WriteString("[big]\n")
	for i := range n {
		fmt.Fprintf(&b, "robot-%d ansible_host=10.%d.%d.%d\n", i, i>>16, (i>>8)&255, i&255)
	}
	b.WriteString("robot-7\n[top:children]\nbig\nbig\n")
	path := write(t, "hosts", b.String())
	start := time.Now()
	inv, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	hs, err := groupWithin(t, inv, "top")
	t.Logf("%d hosts (%d bytes): loaded and walked in %v", n, b.Len(), time.Since(start))
	if err != nil || len(hs) != n || hs[0].Name != "robot-0" || hs[n-1].Name != fmt.Sprintf("robot-%d", n-1) || hs[7].Addr != "10.0.0.7" {
		t.Fatalf("top: %d hosts, %v", len(hs), err)
	}
}

// A missing inventory is named once, with the system's reason.
func TestLoadMissingNamesThePathOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hosts")
	_, err := Load(path)
	if want := "cannot read inventory " + path + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Load of a missing file: %v, want %q", err, want)
	}
}
