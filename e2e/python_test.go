package e2e

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
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

// Python's websockets offers permessage-deflate by default: through /echo
// it sends compressed text and binary and gets them back compressed, and
// subscribed on /ws it gets 1 KB publications, each compressed once by
// the node however many such subscribers there are.
func TestPythonClientDeflate(t *testing.T) {
	needPythonWebsockets(t)
	n := startNode(t, "--max-byte-rate", "-1")
	const count = 50
	var clients []*process
	for range 3 {
		p := startCmd(t, exec.Command(debianPython, "testdata/deflate_client.py", "ws://"+n.ws, strconv.Itoa(count)))
		if line, err := p.readLine(20 * time.Second); line != "READY" {
			t.Fatalf("python client: %q %v; stderr: %s", line, err, p.Stderr())
		}
		clients = append(clients, p)
	}
	for i := range count {
		n.publish(t, "news", map[string]any{"n": i, "text": strings.Repeat(fmt.Sprintf("item %d of the news; ", i), 50)})
	}
	for _, p := range clients {
		if line, err := p.readLine(20 * time.Second); line != "OK" {
			t.Fatalf("python client: %q %v; stderr: %s", line, err, p.Stderr())
		}
		if err := p.wait(t, 10*time.Second); err != nil {
			t.Fatalf("python client exited with %v; stderr: %s", err, p.Stderr())
		}
	}
	st := n.stats(t)["stats"].(map[string]any)
	// Three clients' echoes (4 sizes of 300 B or more, text and binary:
	// 6 each) plus one per publication, for all three subscribers.
	if got, want := st["compressions"].(float64), float64(3*6+count); got != want {
		t.Fatalf("compressions %v, want %v: each publication once, each echo once", got, want)
	}
}
