# regen — see README.md. `make run` starts a replica on an embedded NATS
# server; `make test` runs the whole suite under -race.
GO        ?= go
BIN       := bin
DATA_DIR  ?= ./data
OUT_DIR   ?= ./out
LISTEN    ?= 127.0.0.1:4222
HTTP      ?= 127.0.0.1:8080
FUZZTIME  ?= 3s
PKGS      := ./...

.PHONY: all build run test test-unit fuzz fuzz-short lint bench bench-go clean tools chromium

all: build

build:
	$(GO) build -o $(BIN)/regen ./cmd/regen

## run: a replica with an embedded NATS server, the example templates and a
## dir deployer; the console at http://$(HTTP)/
run: build
	@echo "console: http://$(HTTP)/"
	$(BIN)/regen run --listen $(LISTEN) --data-dir $(DATA_DIR) \
		--templates examples/templates --deploy dir:$(OUT_DIR) --http $(HTTP)

## test: vet, every test under -race (goleak in each TestMain), short fuzzing
test: lint-vet test-unit fuzz-short

test-unit: chromium
	$(GO) test -race -count=1 -timeout 15m $(PKGS)

## chromium: Debian's chromium for the console's browser test, installed
## when missing (needs root and the Debian archive, as in CI)
chromium:
	@command -v chromium >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

## test-faults: the reliability suite (real nats-server and regen processes:
## crashes, restarts, failover, backpressure, soak, partition); see
## docs/reliability.md. Longer: SOAK=10m FAULT_EVENTS=100000 make test-faults
.PHONY: test-faults
test-faults:
	$(GO) test -tags faults -race -count=1 -timeout 20m -v ./internal/faultsuite/

fuzz-short:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeChangeEvent$$' -fuzztime $(FUZZTIME) ./bus/wire
	$(GO) test -run '^$$' -fuzz '^FuzzCleanPath$$' -fuzztime $(FUZZTIME) ./bus/wire
	$(GO) test -run '^$$' -fuzz '^FuzzParseFrontMatter$$' -fuzztime $(FUZZTIME) ./workers/graph
	$(GO) test -run '^$$' -fuzz '^FuzzClassifyFS$$' -fuzztime $(FUZZTIME) ./workers/deploy

fuzz:
	$(MAKE) fuzz-short FUZZTIME=2m

lint-vet:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
		if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

## lint: gofmt, go vet and staticcheck (built from the module proxy)
lint: lint-vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 $(PKGS)

## bench: the performance suite on an embedded server (a few minutes): prints
## the table, rewrites docs/benchmarks.md; BENCHFLAGS=--json for one JSON object
bench: build
	$(BIN)/regen bench $(BENCHFLAGS)

## bench-go: the Go micro-benchmarks of the hot paths (decode, cycle, ack)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf $(BIN) $(DATA_DIR) $(OUT_DIR)
