package runs

import (
	"errors"
	"os"
	"os/user"
	"slices"
	"strconv"
	"strings"

	"github.com/runctl/runctl/systemdctl"
)

// errJournalGroup: reading the system journal needs one of the groups.
var errJournalGroup = errors.New("cannot read the system journal: your user must be in group systemd-journal (or adm): sudo usermod -aG systemd-journal $USER, then log in again; or use --user for your own runs")

// CanReadJournal says which group a user needs to read the system journal;
// journalctl itself would just show nothing.
func (r *Runs) CanReadJournal() error {
	if os.Geteuid() == 0 || r.Scope() == systemdctl.User {
		return nil
	}
	gids, _ := os.Getgroups()
	for _, name := range []string{"systemd-journal", "adm", "wheel"} {
		g, err := user.LookupGroup(name)
		if err != nil {
			continue
		}
		gid, _ := strconv.Atoi(g.Gid)
		if slices.Contains(gids, gid) || os.Getegid() == gid {
			return nil
		}
	}
	return errJournalGroup
}

// JournalHint turns journalctl's access refusal into the group to join.
func (r *Runs) JournalHint(err error) error {
	if err == nil || os.Geteuid() == 0 || r.Scope() == systemdctl.User {
		return err
	}
	if strings.Contains(err.Error(), "No journal files") || strings.Contains(err.Error(), "ermission") {
		return errJournalGroup
	}
	return err
}
