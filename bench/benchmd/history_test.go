package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteHistory summarises a synthetic go test -bench output: medians
// with their spread, and each target judged from them.
func TestWriteHistory(t *testing.T) {
	dir := t.TempDir()
	raw := `goos: linux
BenchmarkHistoryPublishJetStream-2   	   20000	      5325 ns/op	    18000 pubs/s
BenchmarkHistoryPublishJetStream-2   	   20000	      5325 ns/op	    25000 pubs/s
BenchmarkHistoryPublishJetStream-2   	   20000	      5325 ns/op	    19000 pubs/s
BenchmarkResume1000/jetstream-2      	      20	   9675458 ns/op	         9.650 ms/resume
BenchmarkResume1000/jetstream-2      	      20	   9675458 ns/op	         12.5 ms/resume
BenchmarkResume1000/jetstream-2      	      20	   9675458 ns/op	         8.0 ms/resume
PASS
`
	for name, body := range map[string]string{"raw.txt": raw, "commands.txt": "go test -bench x\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := writeHistory(&b, dir, map[string]string{"count": "3"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"| HistoryPublishJetStream | pubs/s | 19,000 (18,000–25,000) |",
		"| Resume1000/jetstream | ms/resume | 9.65 (8.00–12.50) |",
		"≥ 20,000/s | 19,000 pubs/s | **missed** |",
		"(JetStream) < 50 ms | 9.65 ms/resume | yes |",
		"(memory) < 50 ms | – | not run |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// TestSpliceSection replaces a section in place, and adds it before the
// commands when there is none.
func TestSpliceSection(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.MkdirAll(filepath.Dir(historySummary), 0o755); err != nil {
		t.Fatal(err)
	}
	section := "## History and resume\n\nnew figures\n"
	if err := os.WriteFile(historySummary, []byte(section), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, before, want string }{
		{"added", "# B\n\n## Echo\n\ne\n\n## Exact commands\n\nc\n", "# B\n\n## Echo\n\ne\n\n## History and resume\n\nnew figures\n\n## Exact commands\n\nc\n"},
		{"replaced", "# B\n\n## History and resume\n\nold\n\n## Exact commands\n\nc\n", "# B\n\n## History and resume\n\nnew figures\n\n## Exact commands\n\nc\n"},
	} {
		if err := os.WriteFile("B.md", []byte(tc.before), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := spliceSection("B.md", section); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile("B.md")
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestWritePresence summarises a synthetic presence run: each figure's
// median and spread, several figures per benchmark.
func TestWritePresence(t *testing.T) {
	dir := t.TempDir()
	raw := `BenchmarkPresenceMember/nats-2 	1	4859720156 ns/op	1831 B/member	11.58 µs-CPU/join	6.330 µs-CPU/leave
BenchmarkPresenceMember/nats-2 	1	4859720156 ns/op	1700 B/member	12.00 µs-CPU/join	6.000 µs-CPU/leave
BenchmarkPresenceMember/nats-2 	1	4859720156 ns/op	1900 B/member	10.00 µs-CPU/join	7.000 µs-CPU/leave
`
	for name, body := range map[string]string{"raw.txt": raw, "commands.txt": "go test -bench x\n"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b strings.Builder
	if err := writePresence(&b, dir, map[string]string{"count": "3", "conns": "5000"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"## Presence\n",
		"5,000 subscribers",
		"| PresenceMember/nats | B/member | 1,831 (1,700–1,900) |",
		"| PresenceMember/nats | µs-CPU/join | 11.58 (10.00–12.00) |",
		"| PresenceMember/nats | µs-CPU/leave | 6.33 (6.00–7.00) |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
