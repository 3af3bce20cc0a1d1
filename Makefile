# wsgate: every target a developer runs is the one CI runs (.ci/run calls `make test`).
GO        ?= go
BIN       := bin
FUZZTIME  ?= 30s
STATICCHECK_VERSION := v0.8.2
# Test timeout for the whole suite; CI's budget is 20 minutes.
TEST_TIMEOUT ?= 15m

.PHONY: all build run test test-js vet fmt lint proto fuzz bench bench-ab bench-history bench-presence bench-listener bench-accept bench-micro bench-scale-out baselines clean

all: build

build:
	$(GO) build -o $(BIN)/wsgate ./cmd/wsgate
	$(GO) build -o $(BIN)/wsbench ./cmd/wsbench

## run: build and start a single node on defaults (ws on :8080, /echo on);
## ARGS adds flags (make run ARGS="--allowed-origins http://localhost:8000")
run: build
	./$(BIN)/wsgate $(ARGS)

## test: lint (vet, gofmt, staticcheck), the JavaScript client's unit
## tests, then every Go test with -race and -shuffle; `go test` also replays
## each fuzz target's committed seed corpus (testdata/fuzz) as ordinary
## tests. The browser end-to-end test (e2e/browser_test.go) needs chromium.
test: lint test-js
	$(GO) test -race -shuffle=on -count=1 -timeout $(TEST_TIMEOUT) ./...

## test-js: clients/js's unit tests with Node's test runner (its `npm
## test`); without node they are skipped, except under CI=true
test-js:
	@if command -v node >/dev/null; then cd clients/js && node --test test/*.test.js; \
	elif [ "$$CI" = true ]; then echo "CI=true but node is not installed: clients/js is untested"; exit 1; \
	else echo "node is not installed: skipping clients/js's unit tests"; fi

vet:
	$(GO) vet ./...

## fmt: fail when gofmt would change a file
fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

lint: vet fmt
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

## proto: regenerate wireproto/wsgate.v1.pb.go from wsgate.v1.proto with
## protoc (Debian: protobuf-compiler) and the protoc-gen-go of the
## google.golang.org/protobuf that go.mod requires; commit both files
## (wireproto/gen_test.go fails when they disagree)
proto:
	$(GO) build -o $(BIN)/protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go
	cd wireproto && protoc --plugin=protoc-gen-go=../$(BIN)/protoc-gen-go -I . --go_out=. --go_opt=paths=source_relative wsgate.v1.proto

## fuzz: run every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m)
fuzz:
	./scripts/fuzz.sh $(FUZZTIME)

## bench: the standard suite against wsgate and the baselines, writing
## BENCHMARKS.md (bench/run-suite.sh; sizes from BENCH_* variables, see there)
bench:
	./bench/run-suite.sh

## bench-scale-out: K nodes and 200,000 connections on this host
## (bench/scale-out.sh; SCALE_CONNS=1000000 for the million; SCALE_*
## variables), then BENCHMARKS.md again, which reports a failed run as
## failed; the target fails when the run did
bench-scale-out:
	status=0; ./bench/scale-out.sh || status=$$?; $(GO) run ./bench/benchmd; exit $$status

## bench-listener: CPU per handshake, a listener per loop against one
## acceptor (bench/listener-ab.sh; ROUNDS, CONNS)
bench-listener:
	./bench/listener-ab.sh

## bench-accept: CPU per handshake of the gnet floor, gnet accepting
## against Go listeners handing connections to gnet, by Engine.Register and
## by a gnet Client (bench/accept-ab.sh, writes bench/results-accept/summary.md
## and summary-client.md; ROUNDS, IDLE_CONNS)
bench-accept:
	./bench/accept-ab.sh
	VIA=client ./bench/accept-ab.sh

## bench-ab: make bench's tests against wsgate at BASE and at the working
## tree, alternating ROUNDS (3) times; medians, spread and ratios in
## bench/ab/summary.md (bench/regress-ab.sh)
bench-ab:
	./bench/regress-ab.sh

## bench-history: the channel-history benchmarks (publish throughput on
## JetStream, resume of 1,000 missed, memory per channel), COUNT (5) runs
## each; medians and targets in bench/history/summary.md (bench/history.sh)
bench-history:
	./bench/history.sh

## bench-presence: what a presence member costs a node (RSS, CPU per join
## and leave, in process and on NATS JetStream KV), COUNT (3) runs each;
## medians in bench/presence/summary.md (bench/presence.sh)
bench-presence:
	./bench/presence.sh

## bench-micro: the micro-benchmarks (allocations, ns/frame, MB/s)
bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## baselines: build the comparison servers (their own module)
baselines:
	cd bench/baselines && $(GO) build ./...

clean:
	rm -rf $(BIN)
