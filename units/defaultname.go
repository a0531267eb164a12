package units

import (
	"path/filepath"
	"regexp"
	"strings"
)

// interpreter matches the basenames of interpreters whose runs are named
// after their script or module: python3 a.py is "a", not "python3".
var interpreter = regexp.MustCompile(`^(python[0-9.]*|pypy[0-9.]*|node|nodejs|bash|sh|dash|zsh|ruby|perl)$`)

// interpreterValueFlags are options whose value is the next argument
// (python -W error, node -r dotenv/config, ruby -I lib, perl -I lib).
var interpreterValueFlags = map[string]bool{
	"-W": true, "-X": true, "-Q": true, "-r": true, "--require": true, "--import": true,
	"--loader": true, "--input-type": true, "--title": true, "-I": true, "-o": true, "-O": true,
}

// scriptExt are the extensions a default name leaves out.
var scriptExt = []string{".py", ".js", ".mjs", ".cjs", ".ts", ".sh", ".bash", ".rb", ".pl"}

// DefaultName is a run's name when -n is not given: for an interpreter
// (python3, node, bash, sh, ruby, perl...) the script's basename without
// its extension, or the module of python -m MODULE; otherwise the
// command's basename (sanitizeName). An interpreter given code inline
// (-c, -e) or nothing to run is named after itself.
func DefaultName(argv []string) string {
	if len(argv) == 0 {
		return sanitizeName("")
	}
	base := filepath.Base(argv[0])
	if !interpreter.MatchString(base) {
		return sanitizeName(argv[0])
	}
	// Inline code: -c for python and the shells (whose -e is errexit),
	// -e for node, ruby and perl (node's -p prints it).
	inline := map[string]bool{"-c": true}
	if strings.HasPrefix(base, "node") || base == "ruby" || base == "perl" {
		inline = map[string]bool{"-e": true, "--eval": true, "-p": true, "--print": true}
	}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		switch {
		case a == "-m" && i+1 < len(argv):
			return sanitizeName(argv[i+1])
		case strings.HasPrefix(a, "-m") && len(a) > 2 && !strings.HasPrefix(a, "--"):
			return sanitizeName(a[2:]) // python3 -mhttp.server
		case inline[a]:
			return sanitizeName(argv[0])
		case a == "--" && i+1 < len(argv):
			return scriptName(argv[i+1])
		case interpreterValueFlags[a]:
			i++
		case strings.HasPrefix(a, "-") && a != "-":
			// another option: -u, -O, -x, --inspect...
		default:
			return scriptName(a)
		}
	}
	return sanitizeName(argv[0])
}

// scriptName is a script's name without its extension.
func scriptName(script string) string {
	base := filepath.Base(script)
	for _, ext := range scriptExt {
		if b, ok := strings.CutSuffix(base, ext); ok && b != "" {
			base = b
			break
		}
	}
	return sanitizeName(base)
}
