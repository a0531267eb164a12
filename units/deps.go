package units

import (
	"fmt"
	"strings"
)

// unitTypes are the suffixes of systemd's unit types (systemd.unit(5)). A
// name in --after or --wants that ends in one is a systemd unit, named as
// systemctl names it; any other is a run. A run whose name ends so is
// named by its unit, runctl-NAME.service.
var unitTypes = []string{".service", ".socket", ".device", ".mount", ".automount", ".swap", ".target", ".path", ".timer", ".slice", ".scope"}

// IsSystemdUnit says whether dep (from --after or --wants) names a systemd
// unit rather than a run.
func IsSystemdUnit(dep string) bool {
	for _, t := range unitTypes {
		if strings.HasSuffix(dep, t) && len(dep) > len(t) {
			return true
		}
	}
	return false
}

// depUnit is the unit dep names: itself if it is a systemd unit, else its
// run's unit.
func depUnit(dep string) string {
	if IsSystemdUnit(dep) {
		return dep
	}
	return UnitName(dep)
}

// validateDep checks a --after or --wants entry: a run name, or a systemd
// unit name (systemd's rule: 1-255 characters from A-Z a-z 0-9 : - _ . \ @,
// a name before the type, an instance after @ only for templates' units).
func validateDep(flag, dep string) error {
	if !IsSystemdUnit(dep) {
		if err := ValidateName(dep); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		return nil
	}
	bad := ""
	for i := 0; i < len(dep) && bad == ""; i++ {
		c := dep[i]
		if !isAlnum(c) && !strings.ContainsRune(":-_.\\@", rune(c)) {
			bad = fmt.Sprintf("%q is not allowed", dep[i:i+1])
		}
	}
	switch {
	case bad != "":
	case len(dep) > 255:
		bad = fmt.Sprintf("it is %d characters long, systemd takes at most 255", len(dep))
	case dep[0] == '.' || dep[0] == '@':
		bad = fmt.Sprintf("it starts with %q", dep[:1])
	case strings.HasSuffix(dep[:strings.LastIndexByte(dep, '.')], "@"):
		bad = "it names a template, not a unit"
	}
	if bad != "" {
		return fmt.Errorf("%s: invalid unit name %q: %s; name a systemd unit as systemctl does (network-online.target, dev-ttyUSB0.device) or a run", flag, dep, bad)
	}
	return nil
}
