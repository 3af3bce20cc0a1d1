package bench

import "errors"

// Plot writes r's charts to path.
func Plot(r *Report, path string) error {
	return errors.New("bench: --plot is not implemented yet")
}
