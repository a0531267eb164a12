package journal

import (
	"os"
	"path/filepath"
	"strings"
)

// VolatileNote says what a journal kept in memory means for a run's logs.
const VolatileNote = "the journal is kept in memory (journald Storage=volatile, or auto without /var/log/journal): the logs of earlier boots are gone; Storage=persistent in /etc/systemd/journald.conf keeps them"

// Volatile says whether journald writes the journal to memory only: its
// current file is under /run/log/journal, which a persistent journal
// leaves (and empties) when it is flushed to /var at boot.
func Volatile() bool {
	id, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		return false
	}
	_, err = os.Stat(filepath.Join("/run/log/journal", strings.TrimSpace(string(id)), "system.journal"))
	return err == nil
}
