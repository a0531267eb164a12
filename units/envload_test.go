package units

import (
	"slices"
	"strings"
	"testing"
)

func TestReadEnvLines(t *testing.T) {
	got, err := ReadEnvLines([]byte("# robot\n\nA=1\nexport B=two words\r\nC=\"quoted $HOME\"\nD='x'\nE=\"unbalanced\n  F=  spaced \nG=\nH=a=b\n"))
	want := []string{"A=1", "B=two words", "C=quoted $HOME", "D=x", "E=\"unbalanced", "F=  spaced", "G=", "H=a=b"}
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("ReadEnvLines = %q, %v; want %q", got, err, want)
	}
	for _, tt := range []struct{ in, want string }{
		{"A=1\nnot a line\n", "line 2: want NAME=VALUE"},
		{"1X=secret\n", "line 1: \"1X\" is not a valid variable name"},
		{"A=\xff\n", "line 1: value is not valid UTF-8"},
	} {
		_, err := ReadEnvLines([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("ReadEnvLines(%q) = %v, want %q (and no value)", tt.in, err, tt.want)
		}
	}
}

func TestParseEnvDump(t *testing.T) {
	got := ParseEnvDump([]byte("A=1\x00B=multi\nline\x00junk\x00"))
	if want := []string{"A=1", "B=multi\nline"}; !slices.Equal(got, want) {
		t.Fatalf("ParseEnvDump = %q, want %q", got, want)
	}
}
