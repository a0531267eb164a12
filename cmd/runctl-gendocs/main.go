// Command runctl-gendocs writes runctl's man page and its bash, zsh and fish
// completions from the command line's definition (kong's model of cli.CLI),
// so that they cannot drift from it. The files are kept in packaging/;
// `make docs` regenerates them and a test fails when they are stale.
//
//	runctl-gendocs [-root DIR]
package main

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/alecthomas/kong"

	"github.com/runctl/runctl/cli"
)

// The generated files, relative to the repository's root.
const (
	readmePath = "README.md" // its properties block
	manPath    = "packaging/man/runctl.1"
	bashPath   = "packaging/completions/runctl.bash"
	zshPath    = "packaging/completions/_runctl"
	fishPath   = "packaging/completions/runctl.fish"
)

func main() {
	root := flag.String("root", ".", "the repository's root: README.md is read there, packaging/ written there")
	flag.Parse()
	if err := run(*root); err != nil {
		fmt.Fprintf(os.Stderr, "runctl-gendocs: %v\n", err)
		os.Exit(1)
	}
}

func run(root string) error {
	files, err := generate(root)
	if err != nil {
		return err
	}
	for _, rel := range slices.Sorted(maps.Keys(files)) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[rel], 0o644); err != nil {
			return fmt.Errorf("cannot write %s: %w", p, err)
		}
	}
	return nil
}

// generate returns every generated file's content by its path relative to
// root.
func generate(root string) (map[string][]byte, error) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		return nil, fmt.Errorf("cannot read the introduction for the man page: %w", err)
	}
	intro, err := readmeIntro(readme)
	if err != nil {
		return nil, err
	}
	// The version is not part of any generated file: they change only
	// when the command line does.
	doc, err := fromKong(parserModel())
	if err != nil {
		return nil, err
	}
	readme, err = readmeProperties(readme)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		readmePath: readme,
		manPath:    manPage(doc, intro),
		bashPath:   bashCompletion(doc),
		zshPath:    zshCompletion(doc),
		fishPath:   fishCompletion(doc),
	}, nil
}

// parserModel is runctl's command line as kong sees it.
func parserModel() *kong.Application { return cli.Parser(&cli.CLI{}, "").Model }
