# easykv — the two commands that matter: `make demo` and `make test`.
GO      ?= go
BIN     := bin
CLUSTER ?= examples/demo/cluster.yaml
PROTO   := netlink/pb/kv_raft.proto

.PHONY: all build demo test vet proto proto-check chaos fuzz bench clean

# CHAOS_DURATION is how long the chaos test injects faults: a short run is
# part of `make test`; `make chaos` runs the long one.
CHAOS_DURATION ?= 10m
# FUZZTIME is how long `make fuzz` runs each fuzz target.
FUZZTIME ?= 30s

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# demo builds, starts three nodes from $(CLUSTER), opens the dashboard and
# stops the nodes when the dashboard exits.
demo: build
	./scripts/demo.sh $(CLUSTER)

test: vet proto-check
	CHAOS_DURATION=60s $(GO) test -race -count=1 -timeout 20m ./...
	# Every benchmark once, so that one that stopped working fails here
	# rather than on the day its figures are wanted; figures are not read.
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x -timeout 10m ./...

# chaos runs the linearizability test under faults on 5 real nodes for
# $(CHAOS_DURATION) and prints its summary; artifacts of a failure go to
# chaos-out/.
chaos:
	CHAOS_DURATION=$(CHAOS_DURATION) $(GO) test -race -count=1 -run '^TestChaos$$' -v -timeout 60m ./e2e

# fuzz runs every fuzz target for $(FUZZTIME) each; `make test` runs their
# committed seed corpora (testdata/fuzz/) as ordinary tests.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$target"; \
	    $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above are not formatted"; exit 1; }
	$(GO) vet ./...

# proto regenerates the Go code from the schema with buf and the
# protoc-gen-go pinned by the tool lines in go.mod (buf.gen.yaml).
proto:
	$(GO) tool buf generate

# proto-check fails when the committed generated code differs from what the
# schema generates now, when buf lint finds a problem (buf.yaml lists the
# exceptions easy-kv's names need), or when the schema breaks wire
# compatibility with its first version (netlink/testdata/wire-baseline):
# numbers are kept, only added.
proto-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	$(GO) tool buf generate -o $$tmp && \
	{ diff -u netlink/pb/kv_raft.pb.go $$tmp/netlink/pb/kv_raft.pb.go >/dev/null || \
	  { echo "netlink/pb/kv_raft.pb.go is stale: run 'make proto' and commit"; exit 1; }; }
	$(GO) tool buf lint
	$(GO) tool buf breaking netlink/pb --against netlink/testdata/wire-baseline

# bench builds, then benchmarks easykv (3 and 5 nodes) against etcd (3
# members, through ../shared/bench/etcd-peer.sh) in the same run, and writes
# the table to bench-results/. BENCH_ARGS=--quick for a smoke test.
bench: build
	$(GO) run ./tools/benchrun $(BENCH_ARGS)

clean:
	rm -rf $(BIN) data chaos-out bench-results
