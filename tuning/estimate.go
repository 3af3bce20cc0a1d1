package tuning

// Estimate reads this process and host and checks them for the server
// role with maxConns (the server's --max-conns; 0 for none) as the target:
// the connections a wsgate started like this process can hold, and what
// stands between it and maxConns. Call it once at start-up, not per
// connection: it reads /proc and /sys.
func Estimate(maxConns int64) (Report, error) {
	r, err := Read()
	if err != nil {
		return Report{}, err
	}
	return Check(r, Options{Role: RoleServer, Target: maxConns}), nil
}
