// Command nbiohub is the lesismal/nbio baseline: nbio's event-loop HTTP
// engine (nbhttp) and its websocket upgrader, in two flavours chosen by
// --flavour:
//
//   - tuned (the default, labelled nbiohub in BENCHMARKS.md): what a
//     competent nbio user writes, with the settings nbio's author uses in
//     his own servers (github.com/lesismal/go-websocket-benchmark,
//     frameworks/nbio_nonblocking/server.go and frameworks/listen.go;
//     github.com/lesismal/nbio-examples, websocket_1m/server_nbio/server.go)
//     and an asynchronous, batched fan-out. See tuned.go.
//   - naive (labelled nbiohub-naive by bench/run-suite.sh): the first
//     version of this baseline, which publishes synchronously inside the
//     publish handler. See naive.go.
package main

import (
	"flag"
	"log"

	"github.com/wsgate/wsgate/bench/baselines/internal/common"
)

func main() {
	var flavour string
	f := common.ParseFlags("nbiohub", func(fs *flag.FlagSet) {
		fs.StringVar(&flavour, "flavour", "tuned", "`tuned` (the nbio author's settings, asynchronous batched fan-out) or naive (synchronous publish, defaults)")
	})
	switch flavour {
	case "tuned":
		runTuned(f)
	case "naive":
		runNaive(f)
	default:
		log.Fatalf("nbiohub: --flavour %q: want tuned or naive", flavour)
	}
}
