//go:build !linux

package tuning

// wsgate runs on Linux only (README, "Platform"); this file makes a build
// for any other system fail with an error that points here rather than at
// a missing constant deep in the package.
var _ = wsgateNeedsLinux
