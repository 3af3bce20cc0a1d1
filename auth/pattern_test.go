package auth

import (
	"strings"
	"testing"
)

func TestPatternMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		yes     []string
		no      []string
	}{
		{"news", []string{"news"}, []string{"new", "newsx", "news.a", "a.news"}},
		{"chat.*", []string{"chat.lobby", "chat.42"}, []string{"chat", "chat.a.b", "chatx.a", "x.chat"}},
		{"*", []string{"a", "news"}, []string{"a.b"}},
		{"*.*", []string{"a.b"}, []string{"a", "a.b.c"}},
		{">", []string{"a", "a.b", "a.b.c"}, nil},
		{"user.42.>", []string{"user.42.inbox", "user.42.a.b"}, []string{"user.42", "user.43.inbox", "user.420.x"}},
		{"a.*.c", []string{"a.b.c", "a.x.c"}, []string{"a.c", "a.b.d", "a.b.c.d"}},
		{"*.>", []string{"a.b", "a.b.c"}, []string{"a"}},
		{"a.b", []string{"a.b"}, []string{"a", "a.b.c", "a.bb", "aa.b"}},
	} {
		p, err := CompilePattern(tc.pattern)
		if err != nil {
			t.Fatalf("CompilePattern(%q): %v", tc.pattern, err)
		}
		for _, ch := range tc.yes {
			if !p.Match(ch) {
				t.Errorf("%q does not match %q", tc.pattern, ch)
			}
		}
		for _, ch := range tc.no {
			if p.Match(ch) {
				t.Errorf("%q matches %q", tc.pattern, ch)
			}
		}
	}
}

func TestCompilePatternRefuses(t *testing.T) {
	for _, s := range []string{
		"", ".", "a.", ".a", "a..b", ">.a", "a.>.b", "a*", "*a", "a>", "a b", "a/b",
		"é", strings.Repeat("a", 256), "a.**", "a.>>",
	} {
		if _, err := CompilePattern(s); err == nil {
			t.Errorf("CompilePattern(%q) accepted", s)
		}
	}
	if _, err := CompilePatterns(make([]string, MaxPatterns+1)); err == nil {
		t.Error("more than MaxPatterns accepted")
	}
}

func TestZeroPatternMatchesNothing(t *testing.T) {
	if (Pattern{}).Match("a") {
		t.Fatal("zero Pattern matched")
	}
}

func TestPatternMatchDoesNotAllocate(t *testing.T) {
	p, _ := CompilePattern("user.*.>")
	if n := testing.AllocsPerRun(100, func() { p.Match("user.42.inbox.x") }); n != 0 {
		t.Fatalf("Match allocates %v times", n)
	}
}
