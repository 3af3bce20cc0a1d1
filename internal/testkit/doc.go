// Package testkit is the one test kit of wsgate's packages: the helpers
// every test package used to copy, written once. It imports nothing of the
// server (reactor, admin, relay, auth, wire) and no NATS, so any package's
// tests may use it, bench's and wsproto's included; the in-process NATS
// server and the stalled fake NATS are in natstest beside it (see its doc).
//
// Waiting:
//
//   - Eventually(t, timeout, what, cond) polls cond until it holds and
//     fails the test naming what it waited for; Poll(timeout, cond) only
//     reports, for a caller that words its own failure. Poll instead of
//     sleeping (STYLE.md §7). Call them from the test's goroutine (they
//     use t.Fatalf), never inside another poll's cond.
//
// Tools the suite needs:
//
//   - RequireTool(t, name) returns the path of an executable, or skips the
//     test saying what goes unchecked; SkipMissing(t, format, ...) does the
//     same for anything else (a Python module, root, /proc). Under CI=true
//     (CI()) both fail instead: CI installs every tool, so a missing one is
//     a broken CI, not a reason to pass.
//
// Leaks:
//
//   - Main(m) is a whole TestMain: it runs the tests and, when they
//     passed, fails the package if goroutines (go.uber.org/goleak, against
//     the goroutines alive before the tests) or open file descriptors
//     (/proc/self/fd, against the count before) outlive them by more than
//     LeakGrace. Run(m) is the same without os.Exit, for a TestMain with
//     set-up of its own.
//
// Addresses, never a port picked and handed over (the race of listening,
// closing and telling another process the port):
//
//   - Listen(t) is a listener on 127.0.0.1:0: the kernel picks the port
//     and the test reads it from Addr. Processes are started on :0 the same
//     way and report their bound address (wsgate logs it).
//   - ReserveAddr(t) is for the one case :0 cannot serve: an address a
//     server must be told before it listens, or must listen on again after
//     a restart. The port stays bound, not listening, until the test ends:
//     connections to it are refused, nobody else gets it, and any Go server
//     (SO_REUSEADDR) can listen on it meanwhile.
package testkit
