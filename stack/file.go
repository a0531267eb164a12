// Package stack is the stack file (a robot's runs in one YAML file, for
// runctl apply and runctl export) and the plan that brings a manager's runs
// to a file's state. It reads and writes files and compares specs; it does
// not talk to systemd: the command line acts on the plan.
package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/runctl/runctl/units"
)

// File is a stack file: the stack's name and its runs, in the file's order.
type File struct {
	Name string `yaml:"name" json:"name"`
	Runs []Run  `yaml:"runs" json:"runs"`
}

// Run is one run of a stack file. Its keys are runctl run's long flag names
// without the dashes; a key left out means what leaving out the flag means,
// except that a run gets no environment but its own env (as run
// --clean-env) and its folder is the stack file's by default.
type Run struct {
	Name    string            `yaml:"name" json:"name"`
	Command []string          `yaml:"command,flow" json:"command"`
	Dir     string            `yaml:"dir,omitempty" json:"dir,omitempty"`
	Env     map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	// EnvFile and Source are read at apply, relative to the file's folder.
	EnvFile      Strings    `yaml:"env-file,omitempty" json:"env-file,omitempty"`
	Source       Strings    `yaml:"source,omitempty" json:"source,omitempty"`
	Restart      string     `yaml:"restart,omitempty" json:"restart,omitempty"`
	RestartDelay *Duration  `yaml:"restart-delay,omitempty" json:"restart-delay,omitempty"`
	MaxRestarts  string     `yaml:"max-restarts,omitempty" json:"max-restarts,omitempty"` // N, or none
	Within       *Duration  `yaml:"within,omitempty" json:"within,omitempty"`
	Property     Properties `yaml:"property,omitempty" json:"property,omitempty"`
	UID          string     `yaml:"uid,omitempty" json:"uid,omitempty"`
	GID          string     `yaml:"gid,omitempty" json:"gid,omitempty"`
	StopSignal   string     `yaml:"stop-signal,omitempty" json:"stop-signal,omitempty"`
	StopTimeout  *Duration  `yaml:"stop-timeout,omitempty" json:"stop-timeout,omitempty"`
	NoLogLimit   bool       `yaml:"no-log-limit,omitempty" json:"no-log-limit,omitempty"`
	Buffered     bool       `yaml:"buffered,omitempty" json:"buffered,omitempty"`
	Notify       bool       `yaml:"notify,omitempty" json:"notify,omitempty"`
	Watchdog     *Duration  `yaml:"watchdog,omitempty" json:"watchdog,omitempty"`
	After        []string   `yaml:"after,omitempty,flow" json:"after,omitempty"`
	Wants        []string   `yaml:"wants,omitempty,flow" json:"wants,omitempty"`
	Enable       bool       `yaml:"enable,omitempty" json:"enable,omitempty"`
}

// Duration is a Go duration such as 10s or 1m30s, as the flags take it.
type Duration time.Duration

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if n.Kind != yaml.ScalarNode || err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a duration: want one such as 10s or 500ms", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes d as the flags take it.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// MarshalJSON writes d as the flags take it.
func (d Duration) MarshalJSON() ([]byte, error) { return strconv.AppendQuote(nil, d.String()), nil }

func (d Duration) String() string { return time.Duration(d).String() }

// Strings is one string or a list of them.
type Strings []string

// UnmarshalYAML reads a scalar or a sequence of scalars.
func (s *Strings) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = Strings{n.Value}
		return nil
	}
	vs, err := scalars(n)
	*s = vs
	return err
}

// Properties are unit settings as run -p takes them: KEY: VALUE, or KEY: a
// list of values for a setting given more than once.
type Properties map[string][]string

// UnmarshalYAML reads a mapping of scalars or lists of scalars.
func (p *Properties) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: property must be a mapping of KEY: VALUE", n.Line)
	}
	out := Properties{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			return fmt.Errorf("line %d: property %s is given twice: give a list of values instead", k.Line, k.Value)
		}
		if v.Kind == yaml.ScalarNode {
			out[k.Value] = []string{v.Value}
			continue
		}
		vs, err := scalars(v)
		if err != nil {
			return err
		}
		out[k.Value] = vs
	}
	*p = out
	return nil
}

func scalars(n *yaml.Node) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: want a value or a list of values", n.Line)
	}
	var out []string
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: want a value, not a list or mapping", c.Line)
		}
		out = append(out, c.Value)
	}
	return out, nil
}

// Parse reads a stack file and checks its shape: a valid stack name, runs
// with valid, distinct names and a command each, and no key runctl does
// not know.
func Parse(data []byte) (*File, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); errors.Is(err, io.EOF) {
		return nil, errors.New("invalid stack file: it is empty; give the stack's name and its runs (name: robot, runs: [...])")
	} else if err != nil {
		return nil, fmt.Errorf("invalid stack file: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("invalid stack file: %w", err)
	}
	return &f, nil
}

func (f *File) check() error {
	if f.Name == "" {
		return errors.New("no name: give the stack's name (name: robot)")
	}
	if err := units.ValidateName(f.Name); err != nil {
		return fmt.Errorf("stack name: %w", err)
	}
	if len(f.Runs) == 0 {
		return errors.New("no runs: list them under the key runs")
	}
	seen := map[string]bool{}
	for i, r := range f.Runs {
		if r.Name == "" {
			return fmt.Errorf("run %d has no name", i+1)
		}
		if err := units.ValidateName(r.Name); err != nil {
			return err
		}
		if seen[r.Name] {
			return fmt.Errorf("run %s is listed twice", r.Name)
		}
		seen[r.Name] = true
		if len(r.Command) == 0 || r.Command[0] == "" {
			return fmt.Errorf("run %s has no command: give it as a list (command: [prog, arg])", r.Name)
		}
		if r.Restart != "" && !slices.Contains(units.RestartPolicies, r.Restart) {
			return fmt.Errorf("run %s: restart %q is not one of %s", r.Name, r.Restart, strings.Join(units.RestartPolicies, ", "))
		}
		if m := r.MaxRestarts; m != "" && m != "none" {
			if n, err := strconv.Atoi(m); err != nil || n < 0 {
				return fmt.Errorf("run %s: max-restarts %q is not a number of restarts or none", r.Name, m)
			}
		}
	}
	return nil
}

// Marshal writes f as a stack file.
func Marshal(f *File) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// qstr is a string the encoder writes so that it reads back the same:
// yaml.v3 writes some strings that start with a line break as block
// scalars that lose it, so a string holding any character that is not
// printable is double-quoted, which escapes each.
type qstr string

// MarshalYAML writes the string as a node of its own.
func (s qstr) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: string(s)}
	if strings.ContainsFunc(n.Value, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n, nil
}

func qstrs(ss []string) []qstr {
	if ss == nil {
		return nil
	}
	out := make([]qstr, len(ss))
	for i, s := range ss {
		out[i] = qstr(s)
	}
	return out
}

// MarshalYAML writes r with every string as qstr.
func (r Run) MarshalYAML() (any, error) {
	type run struct {
		Name         qstr            `yaml:"name"`
		Command      []qstr          `yaml:"command,flow"`
		Dir          qstr            `yaml:"dir,omitempty"`
		Env          map[string]qstr `yaml:"env,omitempty"`
		EnvFile      []qstr          `yaml:"env-file,omitempty"`
		Source       []qstr          `yaml:"source,omitempty"`
		Restart      qstr            `yaml:"restart,omitempty"`
		RestartDelay *Duration       `yaml:"restart-delay,omitempty"`
		MaxRestarts  qstr            `yaml:"max-restarts,omitempty"`
		Within       *Duration       `yaml:"within,omitempty"`
		Property     map[string]any  `yaml:"property,omitempty"`
		UID          qstr            `yaml:"uid,omitempty"`
		GID          qstr            `yaml:"gid,omitempty"`
		StopSignal   qstr            `yaml:"stop-signal,omitempty"`
		StopTimeout  *Duration       `yaml:"stop-timeout,omitempty"`
		NoLogLimit   bool            `yaml:"no-log-limit,omitempty"`
		Buffered     bool            `yaml:"buffered,omitempty"`
		Notify       bool            `yaml:"notify,omitempty"`
		Watchdog     *Duration       `yaml:"watchdog,omitempty"`
		After        []qstr          `yaml:"after,omitempty,flow"`
		Wants        []qstr          `yaml:"wants,omitempty,flow"`
		Enable       bool            `yaml:"enable,omitempty"`
	}
	out := run{
		Name: qstr(r.Name), Command: qstrs(r.Command), Dir: qstr(r.Dir),
		EnvFile: qstrs(r.EnvFile), Source: qstrs(r.Source), Restart: qstr(r.Restart),
		RestartDelay: r.RestartDelay, MaxRestarts: qstr(r.MaxRestarts), Within: r.Within,
		UID: qstr(r.UID), GID: qstr(r.GID), StopSignal: qstr(r.StopSignal), StopTimeout: r.StopTimeout,
		NoLogLimit: r.NoLogLimit, Buffered: r.Buffered, Notify: r.Notify, Watchdog: r.Watchdog,
		After: qstrs(r.After), Wants: qstrs(r.Wants), Enable: r.Enable,
	}
	if r.Env != nil {
		out.Env = map[string]qstr{}
		for k, v := range r.Env {
			out.Env[k] = qstr(v)
		}
	}
	if r.Property != nil {
		out.Property = map[string]any{}
		for k, vs := range r.Property {
			if len(vs) == 1 {
				out.Property[k] = qstr(vs[0])
			} else {
				out.Property[k] = qstrs(vs)
			}
		}
	}
	return out, nil
}
