// Command wsbench is wsgate's load generator. Its scenarios arrive with the
// benchmark suite; until then it only reports that.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wsbench: no scenarios yet (see the open wsbench issue)")
	os.Exit(2)
}
