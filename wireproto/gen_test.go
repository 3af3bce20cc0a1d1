package wireproto_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/wsgate/wsgate/internal/testkit"
)

// TestGeneratedCodeIsCurrent regenerates wsgate.v1.pb.go from
// wsgate.v1.proto, as `make proto` does (protoc, and protoc-gen-go built
// from the google.golang.org/protobuf that go.mod requires), and fails when
// the committed file differs: the .proto is the source, never the .pb.go.
// The "protoc vX" line of the header is left out of the comparison, so any
// protoc release checks it. Skips without protoc, except under CI=true.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protoc := testkit.RequireTool(t, "protoc")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "protoc-gen-go")
	build := exec.Command("go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building protoc-gen-go: %v\n%s", err, out)
	}
	gen := exec.Command(protoc, "--plugin=protoc-gen-go="+plugin, "-I", ".", "--go_out="+dir, "--go_opt=paths=source_relative", "wsgate.v1.proto")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, out)
	}
	want, err := os.ReadFile(filepath.Join(dir, "wsgate.v1.pb.go"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("wsgate.v1.pb.go")
	if err != nil {
		t.Fatal(err)
	}
	protocLine := regexp.MustCompile(`(?m)^// \tprotoc +v.*$`)
	if !bytes.Equal(protocLine.ReplaceAll(got, nil), protocLine.ReplaceAll(want, nil)) {
		t.Fatal("wsgate.v1.pb.go is not what protoc generates from wsgate.v1.proto: run `make proto` and commit the result")
	}
}
