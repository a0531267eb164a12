// Package fleet runs runctl on many hosts over ssh: in parallel or in
// rolling batches, each host with its own outcome. The remote runctl does
// the work, so every guarantee of one host holds on each; this package only
// reaches hosts, bounds the concurrency, counts failures and merges results.
package fleet

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/runctl/runctl/inventory"
)

// Target is one host to run on.
type Target struct {
	Name string // as the user named it: shown in output and records
	Dest string // the ssh destination
	Port int    // 0: ssh_config decides
}

// Resolve turns -H entries (comma-separated lists, ssh destinations, @GROUP)
// into targets. The inventory is invPath, or the first default one that
// exists. An unknown group, a missing inventory file or a host named twice
// is an error before any host is touched.
func Resolve(entries []string, invPath string) ([]Target, error) {
	var inv *inventory.Inventory
	var err error
	if invPath != "" {
		inv, err = inventory.Load(invPath)
	} else {
		inv, err = inventory.FindDefault()
	}
	if err != nil {
		return nil, err
	}
	var out []Target
	seen := map[string]bool{}
	add := func(t Target) error {
		if seen[t.Name] {
			return fmt.Errorf("host %s is named twice in -H", t.Name)
		}
		seen[t.Name] = true
		out = append(out, t)
		return nil
	}
	for _, entry := range entries {
		for _, e := range strings.Split(entry, ",") {
			e = strings.TrimSpace(e)
			switch {
			case e == "":
				continue
			case strings.HasPrefix(e, "@"):
				if inv == nil {
					return nil, fmt.Errorf("-H %s names an inventory group, but there is no inventory: pass --inventory FILE or create one of %s", e, strings.Join(inventory.DefaultPaths(), ", "))
				}
				hosts, err := inv.Group(e[1:])
				if err != nil {
					return nil, err
				}
				for _, h := range hosts {
					if err := add(fromInventory(h)); err != nil {
						return nil, err
					}
				}
			default:
				t, err := parseDest(e)
				if err != nil {
					return nil, err
				}
				if inv != nil {
					if h, ok := inv.Host(e); ok {
						t = fromInventory(h)
					}
				}
				if err := add(t); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-H names no host")
	}
	return out, nil
}

func fromInventory(h inventory.Host) Target {
	dest := h.Addr
	if h.User != "" {
		dest = h.User + "@" + dest
	}
	return Target{Name: h.Name, Dest: dest, Port: h.Port}
}

// parseDest checks an ssh destination: [user@]host or
// ssh://[user@]host[:port]. Nothing that ssh would read as an option.
func parseDest(s string) (Target, error) {
	if strings.HasPrefix(s, "-") || strings.ContainsAny(s, " \t\n'\"\\") {
		return Target{}, fmt.Errorf("-H %q is not an ssh destination ([user@]host or ssh://[user@]host[:port])", s)
	}
	if !strings.HasPrefix(s, "ssh://") {
		return Target{Name: s, Dest: s}, nil
	}
	u, err := url.Parse(s)
	if err != nil || u.Hostname() == "" || (u.Path != "" && u.Path != "/") {
		return Target{}, fmt.Errorf("-H %q is not an ssh destination (ssh://[user@]host[:port])", s)
	}
	t := Target{Name: s, Dest: u.Hostname()}
	if u.User != nil {
		t.Dest = u.User.Username() + "@" + t.Dest
	}
	if p := u.Port(); p != "" {
		t.Port, err = strconv.Atoi(p)
		if err != nil || t.Port < 1 || t.Port > 65535 {
			return Target{}, fmt.Errorf("-H %q: %q is not a port", s, p)
		}
	}
	return t, nil
}

// Count is --serial or --max-fail: a number of hosts or a percentage.
type Count struct {
	N       int
	Percent bool
	Set     bool
}

// ParseCount reads "N" or "N%".
func ParseCount(flag, s string) (Count, error) {
	if s == "" {
		return Count{}, nil
	}
	c := Count{Set: true}
	num := s
	if strings.HasSuffix(s, "%") {
		c.Percent, num = true, strings.TrimSuffix(s, "%")
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || (c.Percent && n > 100) {
		return Count{}, fmt.Errorf("invalid %s %q: give a number of hosts (3) or a percentage (25%%)", flag, s)
	}
	c.N = n
	return c, nil
}

// Of is the count for total hosts; percentages round down.
func (c Count) Of(total int) int {
	if c.Percent {
		return c.N * total / 100
	}
	return c.N
}
