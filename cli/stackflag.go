package cli

import (
	"errors"
	"fmt"

	"github.com/runctl/runctl/runs"
	"github.com/runctl/runctl/specstore"
	"github.com/runctl/runctl/stack"
	"github.com/runctl/runctl/units"
)

// stackHelp is the text of the --stack flag of ls, status, stop and restart.
const stackHelp = "Act on the runs of this stack (runctl apply), in the order their after gives."

// stackRuns names the runs that belong to stack, each after the runs of
// the stack it starts after; none is an unknown name.
func stackRuns(rs *runs.Runs, name string) ([]string, error) {
	if err := validNames(name); err != nil {
		return nil, err
	}
	names, err := rs.Store.Names()
	if err != nil {
		return nil, err
	}
	var specs []*units.Spec
	for _, n := range names {
		spec, err := rs.Store.Load(n)
		var damaged *specstore.DamagedError
		switch {
		case errors.As(err, &damaged), errors.Is(err, specstore.ErrNotFound):
			continue // a damaged spec names no stack runctl can trust
		case err != nil:
			return nil, err
		}
		if spec.Stack == name {
			specs = append(specs, spec)
		}
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: no run belongs to stack %s (runctl apply FILE makes a stack)", runs.ErrUnknown, name)
	}
	var out []string
	for _, s := range stack.Ordered(specs) {
		out = append(out, s.Name)
	}
	return out, nil
}
