package e2e

import (
	"os/exec"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// debianPython is Debian's interpreter, which sees python3-websockets (the
// python3 on PATH may be another build).
const debianPython = "/usr/bin/python3"

// needPythonWebsockets skips without python3-websockets, except under
// CI=true, where .ci/run has installed it and its absence is a failure.
func needPythonWebsockets(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import websockets").Run(); err != nil {
		testkit.SkipMissing(t, "python3-websockets is not installed (apt-get install python3-websockets; %v): the Python client is untested", err)
	}
}

// Python's websockets client, in its own process, subscribes at the
// handshake and with a frame, gets every HTTP publication once and in
// order, and stops getting a channel after unsubscribing.
func TestPythonClientPubSub(t *testing.T) {
	needPythonWebsockets(t)
	n := startNode(t)
	const count = 100
	p := startCmd(t, exec.Command(debianPython, "testdata/pubsub_client.py", n.url("/ws"), "100"))
	if line, err := p.readLine(20 * time.Second); line != "READY" {
		t.Fatalf("python client: %q %v; stderr: %s", line, err, p.Stderr())
	}
	for i := range count {
		n.publish(t, "news", map[string]int{"n": i})
		n.publish(t, "chat.room.42", map[string]int{"n": i})
	}
	if line, err := p.readLine(20 * time.Second); line != "UNSUBSCRIBED" {
		t.Fatalf("python client: %q %v; stderr: %s", line, err, p.Stderr())
	}
	n.publish(t, "news", "not for you")
	n.publish(t, "chat.room.42", "last")
	if line, err := p.readLine(20 * time.Second); line != "OK" {
		t.Fatalf("python client: %q %v; stderr: %s", line, err, p.Stderr())
	}
	if err := p.wait(t, 10*time.Second); err != nil {
		t.Fatalf("python client exited with %v; stderr: %s", err, p.Stderr())
	}
}
