package main

import (
	"slices"
	"testing"
)

func TestRoff(t *testing.T) {
	for in, want := range map[string]string{
		"--stop-timeout":      `\-\-stop\-timeout`,
		`C:\path`:             `C:\epath`,
		"a — b":               `a \(em b`,
		"ünï":                 `\[u00FC]n\[u00EF]`,
		"two\nlines\tand":     "two lines and",
		"plain text, (ok).":   "plain text, (ok).",
		"100% \"quoted\" 'x'": "100% \"quoted\" 'x'",
	} {
		if got := roff(in); got != want {
			t.Errorf("roff(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"run `ls -q` now":         `run \fBls \-q\fR now`,
		"**bold** and [a](b://c)": `\fBbold\fR and a`,
		"unclosed `tick":          "unclosed `tick",
	} {
		if got := markdown(in); got != want {
			t.Errorf("markdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFillNeverStartsALineWithAControlCharacter(t *testing.T) {
	long := "x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x x "
	for _, s := range []string{".starts with a dot", "'starts with a quote", long + ".TH after a break", long + "'quote after a break"} {
		for i, l := range lines(fill(s)) {
			if l[0] == '.' || l[0] == '\'' {
				t.Errorf("fill(%q) line %d starts a request: %q", s, i+1, l)
			}
			if len(l) > 80 {
				t.Errorf("fill(%q) line %d is %d bytes long", s, i+1, len(l))
			}
		}
	}
}

func TestReadmeIntro(t *testing.T) {
	got, err := readmeIntro([]byte("# title\n\nfirst\nparagraph\n\n\nsecond\n\n## Section\n\nnot this\n"))
	if err != nil || !slices.Equal(got, []string{"first paragraph", "second"}) {
		t.Errorf("readmeIntro = %q, %v", got, err)
	}
	for _, bad := range []string{"no title\n", "# title\n\n## Section at once\n", "# title\n\nno section\n"} {
		if _, err := readmeIntro([]byte(bad)); err == nil {
			t.Errorf("readmeIntro(%q) did not fail", bad)
		}
	}
}

func TestPlaceholderRoff(t *testing.T) {
	for in, want := range map[string]string{
		"NAME":         `\fINAME\fR`,
		"CMD [ARG...]": `\fICMD\fR [\fIARG\fR...]`,
		"K=V":          `\fIK=V\fR`,
	} {
		if got := placeholderRoff(in); got != want {
			t.Errorf("placeholderRoff(%q) = %q, want %q", in, got, want)
		}
	}
}
