package units

import (
	"slices"
	"strings"
	"testing"
)

// hostileValues are values a shell, systemd or a naive quoter would mangle.
var hostileValues = []string{
	"",
	"plain",
	"$HOME",
	"${HOME}",
	"$$",
	"%n",
	"%%",
	`"double"`,
	"'single'",
	"it's",
	`back\slash`,
	`\`,
	`\\`,
	`\n`, // a literal backslash and n
	`trailing\`,
	"`whoami`",
	"$(id)",
	"line1\nline2",
	"\n",
	"\nleading newline",
	"trailing newline\n",
	"\r\n",
	"cr\rinside",
	"\ttab",
	"tab\t",
	"trailing spaces   ",
	"   leading spaces",
	" ",
	"#not a comment",
	";not a comment",
	"a # b",
	"KEY=VALUE",
	"=",
	"'",
	`"`,
	`\"`,
	`\'`,
	"\\\n",
	"unicode: é ü 日本語 🚀",
	"\u00a0nbsp",
	"\x01\x02\x1b[31m\x7f",
	"a=b; c=d",
	`"$HOME\n`,
}

func TestEnvFileRoundTrip(t *testing.T) {
	var env []string
	for i, v := range hostileValues {
		env = append(env, envVarName(i)+"="+v)
	}
	// One variable at a time too, so a failure points at the value.
	for _, kv := range env {
		assertRoundTrip(t, []string{kv})
	}
	assertRoundTrip(t, env)
	assertRoundTrip(t, nil)
}

func envVarName(i int) string {
	return "V" + strings.Repeat("_", i%3) + string(rune('A'+i%26)) + string(rune('a'+i/26))
}

func assertRoundTrip(t *testing.T, env []string) {
	t.Helper()
	data, err := RenderEnvFile(env)
	if err != nil {
		t.Fatalf("RenderEnvFile(%q): %v", env, err)
	}
	got, err := ParseEnvFile(data)
	if err != nil {
		t.Fatalf("ParseEnvFile(RenderEnvFile(%q)): %v\nfile:\n%s", env, err, data)
	}
	if !slices.Equal(got, env) {
		t.Fatalf("round trip changed the environment\n got %q\nwant %q\nfile:\n%s", got, env, data)
	}
}

func TestRenderEnvFileFormat(t *testing.T) {
	data, err := RenderEnvFile([]string{"A=x", "B=$HOME \"q\" `c` \\ 'q' %n", "C=", "D=l1\nl2"})
	if err != nil {
		t.Fatal(err)
	}
	want := "# runctl environment; do not edit, regenerated on start\n" +
		"A=\"x\"\n" +
		"B=\"\\$HOME \\\"q\\\" \\`c\\` \\\\ 'q' %n\"\n" +
		"C=\"\"\n" +
		"D=\"l1\nl2\"\n"
	if string(data) != want {
		t.Errorf("RenderEnvFile:\n got %q\nwant %q", data, want)
	}
}

func TestRenderEnvFileErrors(t *testing.T) {
	tests := []struct {
		env  []string
		want string
	}{
		{[]string{"NOEQUALS"}, `invalid environment variable "NOEQUALS": want NAME=VALUE`},
		{[]string{"1A=x"}, `invalid environment variable "1A": "1A" is not a valid variable name`},
		{[]string{"A-B=x"}, `"A-B" is not a valid variable name`},
		{[]string{"=x"}, `invalid environment variable "": "" is not a valid variable name`},
		{[]string{"A=secret\xff"}, `invalid environment variable "A": value is not valid UTF-8`},
		{[]string{"A=secret\x00"}, `invalid environment variable "A": value contains a NUL byte`},
		{[]string{"A=1", "B=2", "A=3"}, `variable "A" is set twice`},
	}
	for _, tt := range tests {
		_, err := RenderEnvFile(tt.env)
		if err == nil {
			t.Errorf("RenderEnvFile(%q) = nil error, want %q", tt.env, tt.want)
			continue
		}
		if strings.Contains(err.Error(), "cannot") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("RenderEnvFile(%q) error = %q, want it to contain %q", tt.env, err, tt.want)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("RenderEnvFile(%q) error %q shows the value", tt.env, err)
		}
	}
}

// TestParseEnvFile pins the parts of systemd 252's parser that hand-written
// files use; TestParseEnvFileMatchesSystemd checks them against systemd itself.
func TestParseEnvFile(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []string
	}{
		{"empty", "", nil},
		{"comments", "# a\n; b\n  # c\nA=1\n", []string{"A=1"}},
		{"unquoted trims trailing whitespace", "A=  x y  \t\nB=z", []string{"A=x y", "B=z"}},
		{"unquoted keeps quotes inside", `A=a"b"c'd'`, []string{`A=a"b"c'd'`}},
		{"unquoted backslash escapes", `A=a\ \$b\\c\n`, []string{`A=a $b\cn`}},
		{"unquoted escaped trailing space kept", "A=x\\ \n", []string{"A=x "}},
		{"unquoted continuation", "A=one\\\ntwo\n", []string{"A=onetwo"}},
		{"single quotes literal", `A='$HOME \n "x"'`, []string{`A=$HOME \n "x"`}},
		{"single quotes keep newline", "A='l1\nl2'", []string{"A=l1\nl2"}},
		{"double quotes unescape only shell chars", `A="\$ \" \\ \` + "`" + ` \n \a"`, []string{"A=$ \" \\ ` \\n \\a"}},
		{"double quotes continuation", "A=\"one\\\ntwo\"", []string{"A=onetwo"}},
		{"double quotes keep backslash before CR", "A=\"x\\\ry\"", []string{"A=x\\\ry"}},
		{"concatenation drops blanks between quotes", `A="a" 'b' c`, []string{"A=abc"}},
		{"key whitespace", "  A \t= 1\n", []string{"A=1"}},
		{"empty values", "A=\nB=\"\"\nC=''\n", []string{"A=", "B=", "C="}},
		{"line without = ignored", "JUNK\nA=1\n", []string{"A=1"}},
		{"later assignment replaces in place", "A=1\nB=2\nA=3\n", []string{"A=3", "B=2"}},
		{"CR is a newline outside quotes", "A=1\rB=2\r\n", []string{"A=1", "B=2"}},
		{"unterminated double quote", `A="abc`, []string{"A=abc"}},
		{"value after = at EOF", "A=", []string{"A="}},
		{"comment continued by backslash in 252", "# x \\\nA=1\nB=2\n", []string{"B=2"}},
		{"semicolon mid-line is data", "A=x;y #z", []string{"A=x;y #z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEnvFile([]byte(tt.data))
			if err != nil {
				t.Fatalf("ParseEnvFile(%q): %v", tt.data, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseEnvFile(%q)\n got %q\nwant %q", tt.data, got, tt.want)
			}
		})
	}
}

func TestParseEnvFileErrors(t *testing.T) {
	tests := []struct{ data, want string }{
		{"A=1\nB=\xff\n", `invalid environment file: line 2: value of "B" is not valid UTF-8`},
		{"A\xff=1\n", `invalid environment file: line 1: variable name is not valid UTF-8`},
		{"A=1\n\nexport B=2\n", `invalid environment file: line 3: "export B" is not a valid variable name`},
		{"1A=1\n", `invalid environment file: line 1: "1A" is not a valid variable name`},
		{"A=1\nB=2\x00\n", `invalid environment file: line 2: NUL byte`},
		{"=x=y\n", `line 1: "" is not a valid variable name`},
	}
	for _, tt := range tests {
		_, err := ParseEnvFile([]byte(tt.data))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseEnvFile(%q) error = %v, want %q", tt.data, err, tt.want)
		}
	}
}

func FuzzEnvFileRoundTrip(f *testing.F) {
	for _, v := range hostileValues {
		f.Add("NAME", v, "x")
	}
	f.Add("_", "a\\", "\"")
	f.Add("1BAD", "x", "y")
	f.Add("OK", "bad\xff", "y")
	f.Add("OK", "nul\x00", "y")
	f.Fuzz(func(t *testing.T, name, v1, v2 string) {
		// Arbitrary input must never panic the parser.
		_, _ = ParseEnvFile([]byte(name + "=" + v1 + "\n" + v2))

		env := []string{name + "=" + v1, "Z_LAST=" + v2}
		data, err := RenderEnvFile(env)
		// The name is what precedes the first "=": "A=" and "0" make A="=0".
		first, _, _ := strings.Cut(env[0], "=")
		valid := envError(env[0]) == nil && first != "Z_LAST" && envValueProblem(v2) == ""
		if !valid {
			if err == nil {
				t.Fatalf("RenderEnvFile(%q) accepted an invalid environment", env)
			}
			return
		}
		if err != nil {
			t.Fatalf("RenderEnvFile(%q): %v", env, err)
		}
		got, err := ParseEnvFile(data)
		if err != nil {
			t.Fatalf("ParseEnvFile(RenderEnvFile(%q)): %v\nfile: %q", env, err, data)
		}
		if !slices.Equal(got, env) {
			t.Fatalf("round trip changed the environment\n got %q\nwant %q\nfile: %q", got, env, data)
		}
	})
}
