package main

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/runctl/runctl/units"
)

// cliDoc is runctl's command line as the man page and the completions need
// it, read from kong's model: visible commands, flags and arguments only.
type cliDoc struct {
	Name     string
	Help     string
	Globals  []flagDoc
	Commands []cmdDoc
}

type cmdDoc struct {
	Name    string
	Aliases []string
	Help    string
	Detail  string
	Flags   []flagDoc
	Args    []argDoc
}

// What a value completes to.
type completion int

const (
	completeNothing completion = iota
	completeEnum               // the flag's enum values
	completeDir                // directories
	completeRuns               // run names: runctl ls -q
	completeCommand            // a program, then that program's arguments
)

type flagDoc struct {
	Long        string
	Short       rune
	Help        string
	TakesValue  bool
	Placeholder string // for the man page: DUR, N, NAME, ...
	Enum        []string
	Offer       []string // values to complete that are not an enum
	Default     string   // "" if none
	Repeatable  bool
	Sep         rune // a repeatable flag's value is split at Sep; -1: never
	Excludes    []string
	Complete    completion
}

type argDoc struct {
	Placeholder string // NAME, CMD [ARG...]
	Help        string
	Required    bool
	Repeatable  bool
	Passthrough bool // this and everything after it is passed verbatim
	Complete    completion
}

// Conventions the completions rely on: a positional argument or flag whose
// placeholder is NAME is a run name; a passthrough argument is a command
// line; a flag whose placeholder is DIR is a directory.
const (
	runPlaceholder      = "NAME"
	dirPlaceholder      = "DIR"
	propertyPlaceholder = "KEY=VALUE" // a unit property: units.Settings
	signalPlaceholder   = "SIGNAL"
)

// fromKong reads the visible part of app. runctl's verbs have no
// subcommands; a nested one is refused rather than documented wrongly.
func fromKong(app *kong.Application) (*cliDoc, error) {
	doc := &cliDoc{Name: app.Name, Help: app.Help}
	doc.Globals = flagsOf(app.Node)
	for _, n := range app.Children {
		if n.Hidden {
			continue
		}
		if n.Type != kong.CommandNode || len(n.Children) > 0 {
			return nil, fmt.Errorf("cannot document %q: only commands without subcommands are supported", n.Name)
		}
		c := cmdDoc{Name: n.Name, Aliases: n.Aliases, Help: n.Help, Detail: n.Detail, Flags: flagsOf(n)}
		for _, p := range n.Positional {
			a := argDoc{
				Placeholder: p.Tag.PlaceHolder,
				Help:        p.Help,
				Required:    p.Required,
				Repeatable:  p.IsCumulative(),
				Passthrough: p.Passthrough,
			}
			if a.Placeholder == "" {
				a.Placeholder = strings.ToUpper(p.Name)
			}
			switch {
			case a.Passthrough:
				a.Complete = completeCommand
			case a.Placeholder == runPlaceholder:
				a.Complete = completeRuns
			}
			c.Args = append(c.Args, a)
		}
		doc.Commands = append(doc.Commands, c)
	}
	return doc, nil
}

func flagsOf(n *kong.Node) []flagDoc {
	var out []flagDoc
	xor := map[string][]string{} // group -> long names
	for _, f := range n.Flags {
		for _, g := range f.Xor {
			xor[g] = append(xor[g], f.Name)
		}
	}
	for _, f := range n.Flags {
		if f.Hidden {
			continue
		}
		d := flagDoc{
			Long:       f.Name,
			Short:      f.Short,
			Help:       f.Help,
			TakesValue: !f.IsBool() && !f.IsCounter(),
			Repeatable: f.IsCumulative(),
			Sep:        f.Tag.Sep,
		}
		if f.HasDefault {
			d.Default = f.Default
		}
		if f.Enum != "" {
			d.Enum = f.EnumSlice()
		}
		for _, g := range f.Xor {
			for _, other := range xor[g] {
				if other != f.Name {
					d.Excludes = append(d.Excludes, other)
				}
			}
		}
		if d.TakesValue {
			d.Placeholder = placeholder(f)
		}
		switch d.Placeholder {
		case propertyPlaceholder:
			d.Offer = units.PropertyCompletions()
		case signalPlaceholder:
			d.Offer = units.StopSignals
		}
		switch {
		case len(d.offer()) > 0:
			d.Complete = completeEnum
		case d.Placeholder == runPlaceholder:
			d.Complete = completeRuns
		case d.Placeholder == dirPlaceholder:
			d.Complete = completeDir
		}
		out = append(out, d)
	}
	return out
}

// placeholder names a flag's value: the placeholder tag, else its type.
// kong's own FormatPlaceHolder shows the default instead, which the man
// page states separately.
func placeholder(f *kong.Flag) string {
	if f.PlaceHolder != "" {
		return f.PlaceHolder
	}
	t := f.Target.Type()
	if f.IsCumulative() {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		return "DUR"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Uint64:
		return "N"
	}
	return strings.ToUpper(f.Name)
}

// commandNames are a command's name and aliases.
func (c cmdDoc) commandNames() []string { return append([]string{c.Name}, c.Aliases...) }

// passthroughAt is the index of the argument from which everything is passed
// verbatim, or -1.
func (c cmdDoc) passthroughAt() int {
	for i, a := range c.Args {
		if a.Passthrough {
			return i
		}
	}
	return -1
}

// offer is what a flag's value completes to.
func (f flagDoc) offer() []string {
	if len(f.Enum) > 0 {
		return f.Enum
	}
	return f.Offer
}

// names are a flag's spellings: -s and --long.
func (f flagDoc) names() []string {
	if f.Short != 0 {
		return []string{"-" + string(f.Short), "--" + f.Long}
	}
	return []string{"--" + f.Long}
}
