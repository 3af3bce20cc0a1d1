// Package tuning holds wsgate's kernel and process limit profiles as data,
// and a checker that reads this host's limits and says how many concurrent
// connections they allow.
//
// # Profiles
//
// A profile is the set of settings that lets one host hold a target number
// of connections: a sysctl.d file, a security/limits.d file and a systemd
// drop-in. [NewProfile] computes one from the target (and, given a host's
// [Readings], tailors it to that host's memory and current values); every
// setting carries its purpose and, where the value is computed, the
// arithmetic, which [Profile.SysctlConf], [Profile.LimitsConf] and
// [Profile.SystemdDropIn] write as comments. The named profiles (100k, 1m,
// 10m) are the rendered output of the same code, committed under
// tuning/profiles and embedded here ([Named]); a test keeps the two equal,
// so tuning/apply.sh and `wsgate tune profile` read one source of truth.
// tuning/keys.conf lists every key a profile may set with its scope (per
// network namespace or host-wide), which apply.sh and the tests use.
//
// # Checker
//
// [Host.Read] gathers the live values: /proc/sys, the open-files limit of
// this process (getrlimit), /proc/meminfo, the cgroup memory limit,
// conntrack when loaded, the ephemeral port range and the local addresses.
// [Check] is a pure function of those readings: it turns each limit into a
// number of connections (a [Constraint]), takes the smallest as the
// estimate, names that binding constraint and the [Fix] that lifts it.
// [Estimate] does both for the server's start-up log.
//
// The per-connection memory figures ([KernelBytesPerConn],
// [UserBytesPerConn]) are measured constants; they must match
// BENCHMARKS.md.
//
// Everything here may be called from any goroutine; nothing is cached.
package tuning
