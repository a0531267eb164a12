// Package inventory reads the host lists people already keep for Ansible:
// INI and YAML inventories with groups, children and the connection
// variables ansible_host, ansible_user and ansible_port. Other variables
// are accepted and ignored.
package inventory

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Host is one inventory host and how to reach it.
type Host struct {
	Name string // the inventory name (shown in output)
	Addr string // ansible_host, or Name
	User string // ansible_user, or empty (ssh_config decides)
	Port int    // ansible_port, or 0 (ssh_config decides)
}

// Inventory is a parsed inventory: hosts and groups in file order.
type Inventory struct {
	Path   string
	hosts  map[string]*Host
	order  []string
	groups map[string]*group
}

type group struct {
	hosts    []string
	children []string
	// to add each host and child once
	hasHost, hasChild map[string]bool
}

// maxDepth is how deep groups may nest ([a:children] b, [b:children] c,
// ...): a group this many levels below the one asked for is an error.
const maxDepth = 64

// DefaultPaths are tried in order when no --inventory is given.
func DefaultPaths() []string {
	var paths []string
	if d, err := os.UserConfigDir(); err == nil {
		paths = append(paths, filepath.Join(d, "runctl", "hosts"))
	}
	return append(paths, "/etc/runctl/hosts")
}

// FindDefault loads the first default inventory that exists; nil, nil if
// none does.
func FindDefault() (*Inventory, error) {
	for _, p := range DefaultPaths() {
		if _, err := os.Stat(p); err == nil {
			return Load(p)
		}
	}
	return nil, nil
}

// Load reads an inventory file; YAML if it looks like YAML (a .yml/.yaml
// name, or a first line that is a "key:" mapping), INI otherwise.
func Load(path string) (*Inventory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is named once, below
		}
		return nil, fmt.Errorf("cannot read inventory %s: %w", path, err)
	}
	inv := &Inventory{Path: path, hosts: map[string]*Host{}, groups: map[string]*group{}}
	if isYAML(path, string(b)) {
		err = inv.parseYAML(string(b))
	} else {
		err = inv.parseINI(string(b))
	}
	if err != nil {
		return nil, fmt.Errorf("cannot read inventory %s: %w", path, err)
	}
	return inv, nil
}

func isYAML(path, text string) bool {
	if ext := filepath.Ext(path); ext == ".yml" || ext == ".yaml" {
		return true
	}
	for _, l := range strings.Split(text, "\n") {
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		return t == "---" || (!strings.HasPrefix(t, "[") && strings.HasSuffix(t, ":"))
	}
	return false
}

// Group lists the hosts of a group and of its children, each once, in
// file order. "all" is every host.
func (inv *Inventory) Group(name string) ([]Host, error) {
	if name == "all" {
		var hs []Host
		for _, n := range inv.order {
			hs = append(hs, *inv.hosts[n])
		}
		return hs, nil
	}
	if _, ok := inv.groups[name]; !ok {
		return nil, fmt.Errorf("no group %q in inventory %s (groups: %s)", name, inv.Path, strings.Join(inv.groupNames(), ", "))
	}
	var names []string
	seen := map[string]bool{}
	// Each group is walked once: a group reached again by another path
	// (a diamond) adds nothing new. One reached again on the path that
	// leads to it is a cycle.
	const (
		onPath = 1
		walked = 2
	)
	state := map[string]int{}
	var walk func(g string, path []string) error
	walk = func(g string, path []string) error {
		switch state[g] {
		case onPath:
			return fmt.Errorf("groups in inventory %s form a cycle: %s", inv.Path, strings.Join(append(path, g), " > "))
		case walked:
			return nil
		}
		path = append(path[:len(path):len(path)], g)
		if len(path) > maxDepth {
			return fmt.Errorf("group %q in inventory %s: groups nest more than %d levels deep (%s > ...)", name, inv.Path, maxDepth, strings.Join(path[:3], " > "))
		}
		state[g] = onPath
		gr := inv.groups[g]
		if gr != nil {
			for _, h := range gr.hosts {
				if !seen[h] {
					seen[h] = true
					names = append(names, h)
				}
			}
			for _, c := range gr.children {
				if err := walk(c, path); err != nil {
					return err
				}
			}
		}
		state[g] = walked
		return nil
	}
	if err := walk(name, nil); err != nil {
		return nil, err
	}
	hs := make([]Host, 0, len(names))
	for _, n := range names {
		hs = append(hs, *inv.hosts[n])
	}
	return hs, nil
}

// Host returns the inventory's entry for name, if it has one.
func (inv *Inventory) Host(name string) (Host, bool) {
	h, ok := inv.hosts[name]
	if !ok {
		return Host{}, false
	}
	return *h, true
}

func (inv *Inventory) groupNames() []string {
	names := []string{"all"}
	for n := range inv.groups {
		names = append(names, n)
	}
	slices.Sort(names[1:])
	return names
}

func (inv *Inventory) group(name string) *group {
	g := inv.groups[name]
	if g == nil {
		g = &group{hasHost: map[string]bool{}, hasChild: map[string]bool{}}
		inv.groups[name] = g
	}
	return g
}

func (g *group) addChild(name string) {
	if !g.hasChild[name] {
		g.hasChild[name] = true
		g.children = append(g.children, name)
	}
}

// addHost adds name to group (none for "all"/"ungrouped") and applies vars.
func (inv *Inventory) addHost(groupName, name string, vars map[string]string) error {
	h := inv.hosts[name]
	if h == nil {
		h = &Host{Name: name, Addr: name}
		inv.hosts[name] = h
		inv.order = append(inv.order, name)
	}
	for k, v := range vars {
		switch k {
		case "ansible_host", "ansible_ssh_host":
			h.Addr = v
		case "ansible_user", "ansible_ssh_user":
			h.User = v
		case "ansible_port", "ansible_ssh_port":
			p, err := strconv.Atoi(v)
			if err != nil || p < 1 || p > 65535 {
				return fmt.Errorf("host %s: %s=%q is not a port", name, k, v)
			}
			h.Port = p
		}
	}
	if groupName != "" && groupName != "all" && groupName != "ungrouped" {
		g := inv.group(groupName)
		if !g.hasHost[name] {
			g.hasHost[name] = true
			g.hosts = append(g.hosts, name)
		}
	}
	return nil
}

// parseINI reads Ansible's INI format: [group] sections of "host k=v ...",
// [group:children] sections of group names, [group:vars] (ignored).
func (inv *Inventory) parseINI(text string) error {
	section, kind := "ungrouped", ""
	for i, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if strings.HasPrefix(t, "[") {
			if !strings.HasSuffix(t, "]") {
				return fmt.Errorf("line %d: unclosed section %q", i+1, t)
			}
			section, kind, _ = strings.Cut(t[1:len(t)-1], ":")
			if section == "" || (kind != "" && kind != "children" && kind != "vars") {
				return fmt.Errorf("line %d: section %q is not [group], [group:children] or [group:vars]", i+1, t)
			}
			inv.group(section)
			continue
		}
		switch kind {
		case "vars":
			continue
		case "children":
			inv.group(section).addChild(t)
			inv.group(t)
			continue
		}
		fields := strings.Fields(t)
		vars := map[string]string{}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return fmt.Errorf("line %d: %q is not key=value", i+1, f)
			}
			vars[k] = unquote(v)
		}
		if strings.ContainsAny(fields[0], "[]") {
			return fmt.Errorf("line %d: host ranges such as %q are not supported: list the hosts", i+1, fields[0])
		}
		if err := inv.addHost(section, fields[0], vars); err != nil {
			return fmt.Errorf("line %d: %w", i+1, err)
		}
	}
	return nil
}

// parseYAML reads Ansible's YAML format: groups with hosts (each a map of
// variables, or empty), children and vars, under a top-level all: or not.
func (inv *Inventory) parseYAML(text string) error {
	root, err := parseYAMLMap(text)
	if err != nil {
		return err
	}
	for _, e := range root.entries {
		if err := inv.yamlGroup(e.key, e.value, 0); err != nil {
			return err
		}
	}
	return nil
}

func (inv *Inventory) yamlGroup(name string, v *node, depth int) error {
	if depth > 64 {
		return errors.New("groups nest too deep")
	}
	if name != "all" {
		inv.group(name)
	}
	if v == nil {
		return nil
	}
	if v.scalar != nil {
		return fmt.Errorf("line %d: group %s is a value, not a map of hosts, children and vars", v.line, name)
	}
	for _, e := range v.entries {
		switch e.key {
		case "hosts":
			if e.value == nil {
				continue
			}
			if e.value.scalar != nil {
				return fmt.Errorf("line %d: hosts of %s must be a map of host names", e.value.line, name)
			}
			for _, h := range e.value.entries {
				vars := map[string]string{}
				if h.value != nil {
					if h.value.scalar != nil {
						return fmt.Errorf("line %d: host %s must be a map of variables (or empty)", h.value.line, h.key)
					}
					for _, kv := range h.value.entries {
						if kv.value != nil && kv.value.scalar != nil {
							vars[kv.key] = *kv.value.scalar
						}
					}
				}
				if err := inv.addHost(name, h.key, vars); err != nil {
					return fmt.Errorf("line %d: %w", h.line, err)
				}
			}
		case "children":
			if e.value == nil {
				continue
			}
			if e.value.scalar != nil {
				return fmt.Errorf("line %d: children of %s must be a map of groups", e.value.line, name)
			}
			for _, c := range e.value.entries {
				if name != "all" {
					inv.group(name).addChild(c.key)
				}
				if err := inv.yamlGroup(c.key, c.value, depth+1); err != nil {
					return err
				}
			}
		case "vars":
		default:
			return fmt.Errorf("line %d: group %s has %q; expected hosts, children or vars", e.line, name, e.key)
		}
	}
	return nil
}

func unquote(s string) string {
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return s[1 : len(s)-1]
	}
	return s
}
