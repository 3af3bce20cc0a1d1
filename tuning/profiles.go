package tuning

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// NamedTargets are the targets of the committed profiles under
// tuning/profiles, each named by FormatCount: 100k, 1m, 10m.
var NamedTargets = []int64{100_000, 1_000_000, 10_000_000}

//go:embed profiles
var profilesFS embed.FS

// Named returns the names of the committed profiles, smallest target first.
func Named() []string {
	entries, _ := fs.ReadDir(profilesFS, "profiles")
	var names []string
	for _, e := range entries {
		if e.IsDir() {
			names = append(names, e.Name())
		}
	}
	sort.Slice(names, func(i, j int) bool {
		a, _ := ParseCount(names[i])
		b, _ := ParseCount(names[j])
		return a < b
	})
	return names
}

// NamedFile returns one file (SysctlFile, LimitsFile or SystemdFile) of a
// committed profile, exactly as tuning/apply.sh reads it.
func NamedFile(name, file string) ([]byte, error) {
	b, err := profilesFS.ReadFile(path.Join("profiles", name, file))
	if err != nil {
		return nil, fmt.Errorf("tuning: profile %q has no %s (profiles: %v)", name, file, Named())
	}
	return b, nil
}
