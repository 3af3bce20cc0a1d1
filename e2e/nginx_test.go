package e2e

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/wsgate/wsgate/internal/testkit"
)

// The NGINX recipe (deploy/nginx), run like the HAProxy one (lb_test.go).

// startNGINXPair renders deploy/nginx/wsgate.conf for two nodes trusting
// NGINX's X-Forwarded-For, with the balancer's idle timeout, plus extra
// flags, and runs NGINX on it from a minimal main config that includes it.
func startNGINXPair(t *testing.T, extra ...string) *balanced {
	t.Helper()
	nginx := testkit.RequireTool(t, "nginx")
	conf := recipe(t, "nginx/wsgate.conf")
	flags := append([]string{"--trusted-proxies", "127.0.0.1/32",
		"--lb-idle-timeout", recipeDuration(t, conf, "proxy_read_timeout")}, extra...)
	c := &balanced{tls: newTestTLS(t), front: testkit.ReserveAddr(t)}
	c.a, c.b = startPair(t, flags...)
	conf = replaceAll(t, conf,
		"listen 443 ssl;", "listen "+c.front+" ssl;",
		"/etc/wsgate/tls/wsgate.crt", c.tls.certFile,
		"/etc/wsgate/tls/wsgate.key", c.tls.keyFile,
		"10.0.1.11:8080", c.a.ws,
		"10.0.1.12:8080", c.b.ws)
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;\n" // workers otherwise run as nobody, locked out of the test's 0700 directory
	}
	main := user + `worker_processes 2;
daemon off;
pid ` + filepath.Join(dir, "nginx.pid") + `;
error_log stderr warn;
events { worker_connections 1024; }
http {
    access_log off;
    include ` + filepath.Join(dir, "wsgate.conf") + `;
}
`
	for name, text := range map[string]string{"wsgate.conf": conf, "nginx.conf": main} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-p", dir, "-e", "stderr", "-c", filepath.Join(dir, "nginx.conf")}
	if out, err := exec.Command(nginx, append(args, "-t")...).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t rejects the rendered recipe: %v\n%s", err, out)
	}
	c.proxy = startCmd(t, exec.Command(nginx, args...))
	stopOnCleanup(t, c.proxy)
	testkit.Eventually(t, 10*time.Second, "NGINX listening on "+c.front, func() bool {
		conn, err := net.DialTimeout("tcp", c.front, time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
	return c
}

// Over TLS through NGINX running deploy/nginx/wsgate.conf (the upgrade
// headers, least connections), clients are spread over both nodes and a
// publication on one reaches a subscriber on the other, once and in
// order.
func TestNGINXRecipePubSubOverTLS(t *testing.T) {
	c := startNGINXPair(t)
	checkPubSub(t, c)
}

// NGINX passes each client's address in X-Forwarded-For, which nodes
// trusting it read (right-most untrusted address): with
// --max-conns-per-ip 1, a client at 127.0.0.2 gets one connection on each
// node and its third is refused, while 127.0.0.3 still connects. The
// client sends a forged X-Forwarded-For and Forwarded of its own every
// time, which NGINX must replace: they change nothing.
func TestNGINXRecipePassesClientAddress(t *testing.T) {
	c := startNGINXPair(t, "--max-conns-per-ip", "1")
	checkPerAddressCap(t, c, []string{"X-Forwarded-For: 198.51.100.7", "Forwarded: for=198.51.100.8"})
}
