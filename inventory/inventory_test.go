package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
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
