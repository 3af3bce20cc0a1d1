package tuning

// Estimate reads this process and host and checks them for the server
// role: the connections a wsgate started like this process can hold. Call
// it once at start-up, not per connection: it reads /proc and /sys.
func Estimate() (Report, error) {
	r, err := Read()
	if err != nil {
		return Report{}, err
	}
	return Check(r, Options{Role: RoleServer}), nil
}
