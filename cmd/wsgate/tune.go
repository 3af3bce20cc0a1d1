package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/wsgate/wsgate/tuning"
)

const tuneUsage = `Usage:
  wsgate tune check [--target N] [--role server|client] [--json]
  wsgate tune profile --target N [--dir DIR]
  wsgate tune profile --name NAME [--dir DIR]

check reads this host's limits (open files of this process, /proc/sys,
/proc/meminfo, the cgroup memory limit, conntrack, ports and addresses),
estimates the connections a wsgate started the same way can hold, names
the binding constraint and the change that lifts it. Exit status 1 when
--target is out of reach.

profile prints a profile (sysctl.d, limits.d, systemd drop-in) for N
connections tailored to this host, or a committed one by NAME (%s);
--dir writes the files for tuning/apply.sh DIR instead.

N takes k and m suffixes: 100k, 1m, 2.5m.
`

// runTune is `wsgate tune ...`: 0 on success, 1 when the target is out of
// reach, 2 for bad usage or a failure to read or write.
func runTune(args []string, stdout, stderr io.Writer) int {
	usage := func() { fmt.Fprintf(stderr, tuneUsage, strings.Join(tuning.Named(), ", ")) }
	if len(args) == 0 {
		usage()
		return 2
	}
	switch args[0] {
	case "check":
		return tuneCheck(args[1:], stdout, stderr, usage)
	case "profile":
		return tuneProfile(args[1:], stdout, stderr, usage)
	case "-h", "-help", "--help", "help":
		usage()
		return 0
	}
	fmt.Fprintf(stderr, "wsgate tune: unknown command %q\n", args[0])
	usage()
	return 2
}

// countFlag is a connection count flag taking 100k, 1m and the like.
type countFlag int64

func (c *countFlag) String() string { return tuning.FormatCount(int64(*c)) }
func (c *countFlag) Set(s string) error {
	n, err := tuning.ParseCount(s)
	*c = countFlag(n)
	return err
}

func newTuneFlags(name string, stderr io.Writer, usage func()) *flag.FlagSet {
	fs := flag.NewFlagSet("wsgate tune "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = usage
	return fs
}

// parseTune parses and rejects positional arguments; code is 0 for
// --help, otherwise 2 on error.
func parseTune(fs *flag.FlagSet, args []string) (code int, ok bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return 2, false
	}
	return 0, true
}

func tuneCheck(args []string, stdout, stderr io.Writer, usage func()) int {
	fs := newTuneFlags("check", stderr, usage)
	var target countFlag
	fs.Var(&target, "target", "connections wanted (100k, 1m, ...); out of reach: exit 1")
	role := fs.String("role", string(tuning.RoleServer), "server, or client (a load generator: adds ephemeral ports × source addresses)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	if code, ok := parseTune(fs, args); !ok {
		return code
	}
	if *role != string(tuning.RoleServer) && *role != string(tuning.RoleClient) {
		fmt.Fprintf(stderr, "wsgate tune check: --role %q: want server or client\n", *role)
		return 2
	}
	readings, err := tuning.Read()
	if err != nil {
		fmt.Fprintln(stderr, "wsgate tune check:", err)
		return 2
	}
	rep := tuning.Check(readings, tuning.Options{Target: int64(target), Role: tuning.Role(*role)})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "wsgate tune check:", err)
			return 2
		}
	} else {
		printReport(stdout, rep)
	}
	if !rep.Reachable {
		return 1
	}
	return 0
}

func printReport(w io.Writer, rep tuning.Report) {
	fmt.Fprintf(w, "wsgate tune check: %s role, Linux %s\n\nReadings\n", rep.Role, rep.Readings.Kernel)
	for _, it := range rep.Readings.Items() {
		if strings.HasPrefix(it.Source, "/proc/sys/") {
			fmt.Fprintf(w, "  %-36s %s\n", it.Name, it.Value)
		} else {
			fmt.Fprintf(w, "  %-36s %s  [%s]\n", it.Name, it.Value, it.Source)
		}
	}
	for _, n := range rep.Readings.Notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	fmt.Fprintf(w, "\nCapacity in connections (each %s B kernel + %s B wsgate)\n",
		tuning.Thousands(rep.Budget.KernelBytes), tuning.Thousands(rep.Budget.UserBytes))
	for _, c := range rep.Constraints {
		fmt.Fprintf(w, "  %-32s %14s  %s\n", c.Name, tuning.Thousands(c.MaxConns), c.Math)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(w, "  skipped %s\n", s)
	}
	if len(rep.Constraints) == 0 {
		fmt.Fprintln(w, "\nNo limit could be evaluated.")
		return
	}
	fmt.Fprintf(w, "\nEstimate: %s connections; binding constraint: %s\n", tuning.Thousands(rep.Estimate), rep.Binding)
	if rep.Target > 0 {
		verdict := "within reach"
		if !rep.Reachable {
			verdict = "OUT OF REACH"
		}
		fmt.Fprintf(w, "Target: %s connections: %s\n", tuning.Thousands(rep.Target), verdict)
	}
	for _, c := range rep.Constraints {
		if c.Fix == nil {
			continue
		}
		fmt.Fprintf(w, "\nFix %s (for %s connections): %s\n", c.Name, tuning.Thousands(c.Fix.For), c.Fix.Change)
		for _, cmd := range c.Fix.Commands {
			fmt.Fprintf(w, "  - %s\n", cmd)
		}
	}
}

func tuneProfile(args []string, stdout, stderr io.Writer, usage func()) int {
	fs := newTuneFlags("profile", stderr, usage)
	var target countFlag
	fs.Var(&target, "target", "connections the profile is for, tailored to this host")
	name := fs.String("name", "", "a committed profile: "+strings.Join(tuning.Named(), ", "))
	dir := fs.String("dir", "", "write the files into this `directory` (for tuning/apply.sh DIR) instead of printing them")
	if code, ok := parseTune(fs, args); !ok {
		return code
	}
	if (target > 0) == (*name != "") {
		fmt.Fprintln(stderr, "wsgate tune profile: give --target N or --name NAME")
		return 2
	}
	files, err := profileFiles(int64(target), *name, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "wsgate tune profile:", err)
		return 2
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names) // limits.conf, sysctl.conf, wsgate.service.d.conf
	if *dir == "" {
		for i, f := range names {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintf(stdout, "==> %s (install as %s) <==\n%s", f, tuning.InstallPath[f], files[f])
		}
		return 0
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		fmt.Fprintln(stderr, "wsgate tune profile:", err)
		return 2
	}
	for _, f := range names {
		if err := os.WriteFile(filepath.Join(*dir, f), files[f], 0o644); err != nil {
			fmt.Fprintln(stderr, "wsgate tune profile:", err)
			return 2
		}
	}
	fmt.Fprintf(stdout, "wrote %s to %s; apply with: tuning/apply.sh %s\n", strings.Join(names, ", "), *dir, *dir)
	return 0
}

// profileFiles returns a committed profile's files by name, or computes one
// for target tailored to this host, warning on stderr of its shortfalls.
func profileFiles(target int64, name string, stderr io.Writer) (map[string][]byte, error) {
	if name != "" {
		files := map[string][]byte{}
		for _, f := range []string{tuning.SysctlFile, tuning.LimitsFile, tuning.SystemdFile} {
			b, err := tuning.NamedFile(name, f)
			if err != nil {
				return nil, err
			}
			files[f] = b
		}
		return files, nil
	}
	readings, err := tuning.Read()
	if err != nil {
		return nil, err
	}
	p := tuning.NewProfile(target, &readings)
	for _, n := range p.Notes {
		fmt.Fprintf(stderr, "wsgate tune profile: warning: %s\n", n)
	}
	return p.Files(), nil
}

// logCapacity logs this host's capacity estimate at start-up, and warns
// when maxConns (--max-conns) is above it, naming every limit below
// maxConns and the change that lifts the binding one.
func logCapacity(logger *slog.Logger, maxConns int) {
	rep, err := tuning.Estimate(int64(maxConns))
	if err != nil {
		logger.Warn("no capacity estimate", "err", err)
		return
	}
	logger.Info("capacity estimate", "connections", rep.Estimate, "binding", rep.Binding)
	if rep.Reachable || rep.Fix == nil {
		return
	}
	var below []string
	for _, c := range rep.Constraints {
		if c.Fix != nil {
			below = append(below, fmt.Sprintf("%s (%d)", c.Name, c.MaxConns))
		}
	}
	logger.Warn("--max-conns is above this host's capacity estimate",
		"max_conns", maxConns, "estimate", rep.Estimate, "below_max_conns", strings.Join(below, ", "),
		"fix", rep.Fix.Change, "details", fmt.Sprintf("wsgate tune check --target %d", maxConns))
}
