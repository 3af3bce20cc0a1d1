package tuning

import (
	"strings"
	"testing"
)

func TestKeysConfParses(t *testing.T) {
	keys, err := parseKeys(keysConf)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k.Name] {
			t.Errorf("%s listed twice", k.Name)
		}
		seen[k.Name] = true
	}
	for _, bad := range []string{"a.b netns", "a.b host set", "a.b netns lower"} {
		if _, err := parseKeys(bad); err == nil {
			t.Errorf("parseKeys(%q) accepted it", bad)
		}
	}
}

// TestKeysScopeMatchesKernel checks keys.conf against this kernel. A net.*
// key marked netns is writable inside a fresh network namespace, so it has
// its own value there; one marked global is absent or read-only there. Other
// keys (fs.*) are not namespaced at all: writable from anywhere, they change
// the host, so they must be global. Nothing is written.
func TestKeysScopeMatchesKernel(t *testing.T) {
	for _, k := range Keys() {
		if !strings.HasPrefix(k.Name, "net.") && k.Scope != ScopeGlobal {
			t.Errorf("%s: only net.* keys can be per namespace; keys.conf says %s", k.Name, k.Scope)
		}
	}
	ns := newNetns(t)
	var script strings.Builder
	for _, k := range Keys() {
		p := "/proc/sys/" + strings.ReplaceAll(k.Name, ".", "/")
		script.WriteString("if [ ! -e " + p + " ]; then echo " + k.Name + " absent; " +
			"elif [ -w " + p + " ]; then echo " + k.Name + " writable; else echo " + k.Name + " read-only; fi\n")
	}
	out, code := inNetns(t, ns, "sh", "-c", script.String())
	if code != 0 {
		t.Fatalf("probe failed: %s", out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, state, _ := strings.Cut(line, " ")
		k, _ := LookupKey(name)
		switch {
		case !strings.HasPrefix(name, "net."):
		case k.Scope == ScopeNetns && state != "writable":
			t.Errorf("%s is %s in a new network namespace, but keys.conf says netns", name, state)
		case k.Scope == ScopeGlobal && state == "writable":
			t.Errorf("%s is writable in a new network namespace, but keys.conf says global", name)
		}
	}
}
