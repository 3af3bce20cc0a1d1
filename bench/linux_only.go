//go:build !linux

package bench

// wsbench runs on Linux only (README, "Platform"); this file makes a build
// for any other system fail with an error that points here.
var _ = wsgateNeedsLinux
