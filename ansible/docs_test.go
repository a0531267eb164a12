package ansible_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runctl/runctl/sandbox"
)

var modules = []string{"run", "stack", "info"}

func ansibleCmd(t *testing.T, ctx context.Context, name string, args ...string) *exec.Cmd {
	t.Helper()
	if work == "" {
		t.Skipf("no Ansible tests (%s=1)", sandbox.SkipEnv)
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = ansibleEnv(t)
	cmd.WaitDelay = sandbox.WaitDelay
	return cmd
}

// TestModuleDocsRender: ansible-doc renders each module's documentation,
// as text and as JSON with its options, examples and return values.
func TestModuleDocsRender(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var names []string
	for _, m := range modules {
		names = append(names, "runctl.runctl."+m)
	}
	out, err := ansibleCmd(t, ctx, "ansible-doc", append([]string{"-t", "module"}, names...)...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "WARNING") || strings.Contains(string(out), "ERROR") {
		t.Errorf("ansible-doc %s: %v\n%s", strings.Join(names, " "), err, out)
	}
	for _, name := range names {
		if !strings.Contains(string(out), "> "+strings.ToUpper(name)+" ") {
			t.Errorf("ansible-doc did not render %s:\n%s", name, out)
		}
	}
	if n := strings.Count(string(out), "OPTIONS (= is mandatory):"); n != len(names) {
		t.Errorf("ansible-doc rendered the options of %d modules, want %d:\n%s", n, len(names), out)
	}
	out, err = ansibleCmd(t, ctx, "ansible-doc", append([]string{"-t", "module", "--json"}, names...)...).Output()
	if err != nil {
		t.Fatalf("ansible-doc --json: %v", err)
	}
	var docs map[string]struct {
		Doc struct {
			Options map[string]any `json:"options"`
		} `json:"doc"`
		Examples string         `json:"examples"`
		Return   map[string]any `json:"return"`
	}
	if err := json.Unmarshal(out, &docs); err != nil {
		t.Fatalf("ansible-doc --json: %v\n%s", err, out)
	}
	for _, name := range names {
		d := docs[name]
		// scope and runctl_path come from the collection's doc fragment.
		if d.Doc.Options["scope"] == nil || d.Doc.Options["runctl_path"] == nil || d.Examples == "" || len(d.Return) == 0 {
			t.Errorf("ansible-doc --json %s lacks the fragment's options, examples or return values:\n%s", name, out)
		}
	}
}

// TestModulesPassOfflineSanity: the checks of the modules that run
// without network. ansible-test sanity's validate-modules, pylint, pep8,
// yamllint, import and ansible-doc tests install their own requirements
// from the network into a virtualenv, so they are not run here;
// testdata/validate_modules.py checks what validate-modules would (the
// documented options are those of the argument_spec, with the same types,
// choices and defaults; the docs parse; check mode), and the ansible-test
// sanity tests that need nothing more than ansible-core run on a copy of
// the collection (they write their results into it).
func TestModulesPassOfflineSanity(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	out, err := ansibleCmd(t, ctx, "/usr/bin/python3", "testdata/validate_modules.py", ".").CombinedOutput()
	if err != nil {
		t.Errorf("validate_modules.py: %v\n%s", err, out)
	}

	copyRoot := filepath.Join(work, "sanity")
	coll := filepath.Join(copyRoot, "ansible_collections", "runctl", "runctl")
	if err := os.MkdirAll(filepath.Dir(coll), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", "ansible_collections/runctl/runctl", coll).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	defer os.RemoveAll(copyRoot)
	args := []string{"sanity", "--python", pythonVersion(t)}
	for _, test := range []string{
		"action-plugin-docs", "changelog", "compile", "empty-init", "future-import-boilerplate",
		"line-endings", "metaclass-boilerplate", "no-assert", "no-basestring", "no-dict-iteritems",
		"no-dict-iterkeys", "no-dict-itervalues", "no-get-exception", "no-illegal-filenames",
		"no-main-display", "no-smart-quotes", "no-unicode-literals", "replace-urlopen", "shebang",
		"symlinks", "use-argspec-type-path", "use-compat-six",
	} {
		args = append(args, "--test", test)
	}
	cmd := ansibleCmd(t, ctx, "ansible-test", args...)
	cmd.Dir = coll
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("ansible-test %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// pythonVersion is the version of /usr/bin/python3, which ansible-core
// runs on, as ansible-test --python takes it (3.11).
func pythonVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}
