package tuning

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite tuning/profiles from tuning.NewProfile")

// TestNamedProfiles keeps the committed profiles (what apply.sh reads and
// the binary embeds) equal to what NewProfile computes.
func TestNamedProfiles(t *testing.T) {
	for _, target := range NamedTargets {
		p := NewProfile(target, nil)
		for file, want := range p.Files() {
			path := filepath.Join("profiles", p.Name, file)
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			got, err := NamedFile(p.Name, file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from NewProfile(%d); run `go test ./tuning -run TestNamedProfiles -update`", path, target)
			}
		}
	}
	if got, want := strings.Join(Named(), " "), "100k 1m 10m"; !*update && got != want {
		t.Errorf("Named() = %q, want %q", got, want)
	}
}

// TestProfileKeysExistOnKernel: every key of every profile exists on this
// kernel, in the host's namespace, or is marked optional with the reason.
func TestProfileKeysExistOnKernel(t *testing.T) {
	for _, name := range Named() {
		text, err := NamedFile(name, SysctlFile)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := ParseSysctlConf(string(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, l := range lines {
			if _, ok := LookupKey(l.Key); !ok {
				t.Errorf("%s/%s:%d: %s is not in keys.conf", name, SysctlFile, l.Line, l.Key)
			}
			why := optionalWhy(l.Comments)
			if l.Optional != (why != "") {
				t.Errorf("%s/%s:%d: %s: a leading \"-\" and an \"Optional: why\" comment go together", name, SysctlFile, l.Line, l.Key)
			}
			if _, err := os.Stat("/proc/sys/" + strings.ReplaceAll(l.Key, ".", "/")); err != nil && !l.Optional {
				t.Errorf("%s/%s:%d: %s is not on this kernel and not marked optional", name, SysctlFile, l.Line, l.Key)
			} else if err != nil {
				t.Logf("%s: optional and not on this kernel: %s", l.Key, why)
			}
		}
	}
}

func optionalWhy(comments []string) string {
	for _, c := range comments {
		if why, ok := strings.CutPrefix(c, "Optional: "); ok {
			return why
		}
	}
	return ""
}

// TestProfileLinesCommented: every setting in every file has a comment
// above it (in sysctl.conf, its own; elsewhere, one opening its block of
// lines), and every computed sysctl value shows its arithmetic: a comment
// giving the value with thousands separators.
func TestProfileLinesCommented(t *testing.T) {
	computed := map[string]bool{}
	for _, s := range NewProfile(1_000_000, nil).Sysctl {
		computed[s.Key] = s.Math != ""
	}
	for _, name := range Named() {
		for _, file := range []string{SysctlFile, LimitsFile, SystemdFile} {
			text, _ := NamedFile(name, file)
			commented := false // the current block of lines has a comment
			for i, line := range strings.Split(string(text), "\n") {
				line = strings.TrimSpace(line)
				switch {
				case line == "":
					commented = false
				case strings.HasPrefix(line, "#"):
					commented = true
				case !commented && line != "[Service]":
					t.Errorf("%s/%s:%d: %q has no comment above it", name, file, i+1, line)
				}
			}
		}
		text, _ := NamedFile(name, SysctlFile)
		lines, _ := ParseSysctlConf(string(text))
		for _, l := range lines {
			if len(l.Comments) == 0 {
				t.Errorf("%s: %s has no comment of its own", name, l.Key)
			}
			if !computed[l.Key] {
				continue
			}
			if !strings.Contains(strings.Join(l.Comments, " "), Thousands(firstInt(l.Value))) {
				t.Errorf("%s: %s = %s: no comment shows the arithmetic giving %s", name, l.Key, l.Value, Thousands(firstInt(l.Value)))
			}
		}
	}
}

func firstInt(v string) int64 {
	n, _ := ParseCount(strings.Fields(v)[0])
	return n
}
