package main

import (
	"bytes"
	"fmt"
	"strings"
	"unicode"

	"github.com/runctl/runctl/units"
)

// manPage writes runctl(1) in roff (man macros) from the command line and
// README.md's introduction.
func manPage(doc *cliDoc, intro []string) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w(".\\\" Generated from runctl's command line by cmd/runctl-gendocs: do not edit,\n")
	w(".\\\" run \"make docs\".\n")
	w(".TH %s 1 \"\" \"%s\" \"User Commands\"\n", strings.ToUpper(doc.Name), doc.Name)
	// Options and unit names must not be hyphenated; a ragged right margin
	// keeps their spacing natural. HY and AD are what the macros (.YS, .EE)
	// restore.
	w(".nr HY 0\n.nh\n.ds AD l\n.ad l\n")

	w(".SH NAME\n%s \\- %s\n", doc.Name, roff(summary(doc.Help)))

	w(".SH SYNOPSIS\n")
	w(".SY %s\n.RI [ \"global options\" ]\n.I command\n.RI [ options ]\n.RI [ arguments ]\n.YS\n", doc.Name)
	for _, c := range doc.Commands {
		w(".SY \"%s %s\"\n", doc.Name, c.Name)
		for _, f := range c.Flags {
			w("%s\n", synopsisFlag(f))
		}
		for _, a := range c.Args {
			w("%s\n", synopsisArg(a))
		}
		w(".YS\n")
	}

	w(".SH DESCRIPTION\n")
	for i, p := range intro {
		if i > 0 {
			w(".PP\n")
		}
		w("%s\n", fill(markdown(p)))
	}

	w(".SH COMMANDS\n")
	for _, c := range doc.Commands {
		w(".SS %s\n", roff(strings.Join(c.commandNames(), ", ")))
		w("%s\n", fill(roff(c.Help)))
		if c.Detail != "" {
			w(".PP\n%s\n", fill(roff(c.Detail)))
		}
		for _, a := range c.Args {
			w(".TP\n%s\n%s\n", placeholderRoff(a.Placeholder), fill(roff(a.Help)))
			if a.Passthrough {
				w("Everything from here on is passed to the program unchanged, options included;\n" +
					"a preceding \\fB\\-\\-\\fR ends runctl's options.\n")
			}
		}
		for _, f := range c.Flags {
			manFlag(&b, f)
		}
	}

	w(".SH GLOBAL OPTIONS\nThese are accepted before or after the command.\n")
	for _, f := range doc.Globals {
		manFlag(&b, f)
	}

	w(".SH PROPERTIES\n%s\n", fill(roff(propertiesIntro)))
	for _, s := range units.Settings {
		w(".TP\n\\fB%s=\\fI%s\\fR\n%s\n", roff(s.Key), roff(s.ValueSyntax()), fill(roff(s.Help)))
	}

	b.WriteString(manTail)
	return b.Bytes()
}

// The sections that do not come from the command line.
const manTail = `.SH EXIT STATUS
.TP
.B 0
Success.
.TP
.B 1
Failure: runctl could not do what was asked (nothing to stop, unknown run,
permission denied, no systemd reachable, ...).
.TP
.B 2
Bad usage: unknown command or option, missing or invalid argument.
.PP
An attached \fBrun\fR (without \fB\-d\fR) exits as its program did: with
\fIN\fR if it exited with status \fIN\fR, with 128+\fIN\fR if it was killed by
signal \fIN\fR (as a shell reports it), and with 1 if systemd could not start it.
.SH FILES
.TP
.I /var/lib/runctl/runs/
The system manager's runs: each run's spec (\fINAME\fB.json\fR), environment
(\fINAME\fB.env\fR) and lock (\fINAME\fB.lock\fR), mode 0600.
.TP
.I ~/.local/state/runctl/runs/
The same for the runs of your user manager (\fB\-\-user\fR);
\fI$XDG_STATE_HOME\fB/runctl/runs/\fR if that is set.
.TP
.I /run/runctl.operator.sock
Installed by the Debian package (\fBrunctl.operator.socket\fR): members of the
\fBrunctl\fR group, who are not root, \fBstop\fR, \fBstart\fR and \fBrestart\fR
the system manager's runs through it; runctl does so by itself. It checks
who connected and runs only those verbs, without \fB\-\-force\fR,
\fB\-\-timeout\fR or \fB\-\-update\-env\fR. Members get no rights on the units
themselves (no \fBsystemctl stop\fR, no signals); creating runs needs root.
.SH EXAMPLES
.EX
runctl run \-d \-n nav \-\- python3 \-m nav \-\-robot go2
runctl ls
runctl logs \-f nav
runctl restart nav
runctl stop nav
systemctl status runctl\-nav.service
.EE
.SH SEE ALSO
.BR systemctl (1),
.BR systemd\-run (1),
.BR journalctl (1)
`

// manFlag writes one option as a tagged paragraph.
func manFlag(b *bytes.Buffer, f flagDoc) {
	var names []string
	for _, n := range f.names() {
		names = append(names, `\fB`+roff(n)+`\fR`)
	}
	head := strings.Join(names, ", ")
	if f.TakesValue {
		head += "=" + valueRoff(f)
	}
	text := roff(f.Help)
	if f.Default != "" {
		text += ` Default: \fB` + roff(f.Default) + `\fR.`
	}
	if f.Repeatable && f.Sep >= 0 {
		text += ` A value is also split at each \(lq` + roff(string(f.Sep)) + `\(rq.`
	}
	if len(f.Excludes) > 0 {
		var ex []string
		for _, e := range f.Excludes {
			ex = append(ex, `\fB\-\-`+roff(e)+`\fR`)
		}
		text += " Not together with " + strings.Join(ex, ", ") + "."
	}
	fmt.Fprintf(b, ".TP\n%s\n%s\n", head, fill(text))
}

// valueRoff is a flag's value in roff: its enum values or its placeholder.
func valueRoff(f flagDoc) string {
	if len(f.Enum) > 0 {
		var vs []string
		for _, v := range f.Enum {
			vs = append(vs, `\fB`+roff(v)+`\fR`)
		}
		return strings.Join(vs, "|")
	}
	return placeholderRoff(f.Placeholder)
}

func synopsisFlag(f flagDoc) string {
	name := f.names()[0]
	s := `[\fB` + roff(name) + `\fR`
	if f.TakesValue {
		s += `\ ` + valueRoff(f) // an option and its value on one line
	}
	s += "]"
	if f.Repeatable {
		s += `...\&` // \& keeps troff from ending a sentence here
	}
	return s
}

func synopsisArg(a argDoc) string {
	s := placeholderRoff(a.Placeholder)
	if a.Repeatable && !a.Passthrough {
		s += `...\&` // \& keeps troff from ending a sentence here
	}
	if a.Passthrough {
		s = `[\fB\-\-\fR] ` + s
	}
	if !a.Required {
		s = "[" + s + "]"
	}
	return s
}

// placeholderRoff italicizes the words of a placeholder such as
// "CMD [ARG...]", keeping its brackets and dots roman.
func placeholderRoff(p string) string {
	var b strings.Builder
	italic := false
	for _, r := range p {
		word := unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '=' || r == '-'
		if word != italic {
			if word {
				b.WriteString(`\fI`)
			} else {
				b.WriteString(`\fR`)
			}
			italic = word
		}
		b.WriteString(roff(string(r)))
	}
	if italic {
		b.WriteString(`\fR`)
	}
	return b.String()
}

// summary turns kong's one-sentence description into a NAME line: lower
// case first letter, no final period.
func summary(s string) string {
	s = strings.TrimSuffix(strings.TrimSpace(s), ".")
	if s == "" {
		return s
	}
	r := []rune(s)
	r[0] = unicode.ToLower(r[0])
	return string(r)
}

// roff escapes text for a roff text line: backslashes, hyphens as ASCII
// minus signs (so options copy and paste), and characters beyond ASCII.
func roff(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\e`)
		case r == '-':
			b.WriteString(`\-`)
		case r == '\u2014':
			b.WriteString(`\(em`)
		case r == '\u2013':
			b.WriteString(`\(en`)
		case r == '\n' || r == '\t':
			b.WriteRune(' ')
		case r > unicode.MaxASCII:
			fmt.Fprintf(&b, `\[u%04X]`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// markdown turns one paragraph of README.md into roff: `code` in bold,
// **strong** in bold, [text](url) as text.
func markdown(p string) string {
	var b strings.Builder
	for len(p) > 0 {
		switch {
		case p[0] == '`':
			if end := strings.IndexByte(p[1:], '`'); end >= 0 {
				b.WriteString(`\fB` + roff(p[1:1+end]) + `\fR`)
				p = p[end+2:]
				continue
			}
		case strings.HasPrefix(p, "**"):
			if end := strings.Index(p[2:], "**"); end >= 0 {
				b.WriteString(`\fB` + roff(p[2:2+end]) + `\fR`)
				p = p[end+4:]
				continue
			}
		case p[0] == '[':
			if mid := strings.Index(p, "]("); mid > 0 {
				if end := strings.IndexByte(p[mid:], ')'); end > 0 {
					b.WriteString(roff(p[1:mid]))
					p = p[mid+end+1:]
					continue
				}
			}
		}
		r := []rune(p)[0]
		b.WriteString(roff(string(r)))
		p = p[len(string(r)):]
	}
	return b.String()
}

// fill breaks roff text into lines of about 78 bytes at spaces, so the
// generated page reads well and diffs small; troff fills it again anyway.
// A line must not start with a control character.
func fill(s string) string {
	words := strings.Fields(s)
	var lines []string
	line := ""
	for _, w := range words {
		if line != "" && len(line)+1+len(w) > 78 {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	for i, l := range lines {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			lines[i] = `\&` + l
		}
	}
	return strings.Join(lines, "\n")
}

// readmeIntro is README.md's introduction: the paragraphs between the title
// and the first section.
func readmeIntro(readme []byte) ([]string, error) {
	var paras []string
	var cur []string
	inIntro := false
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, line := range strings.Split(string(readme), "\n") {
		switch {
		case strings.HasPrefix(line, "# ") && !inIntro && paras == nil:
			inIntro = true
		case strings.HasPrefix(line, "## "):
			if inIntro {
				flush()
				if len(paras) == 0 {
					return nil, fmt.Errorf("README.md has no introduction before its first section")
				}
				return paras, nil
			}
		case !inIntro:
		case strings.TrimSpace(line) == "":
			flush()
		default:
			cur = append(cur, strings.TrimSpace(line))
		}
	}
	return nil, fmt.Errorf("README.md has no \"# title\", introduction and \"## section\"")
}
