// Package e2e holds wsgate's end-to-end tests: real wsgate processes (built
// without the race detector, as users run them), real NATS servers, and
// client processes, all on loopback. It has no non-test code.
package e2e
