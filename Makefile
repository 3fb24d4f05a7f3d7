# easykv — the two commands that matter: `make demo` and `make test`.
GO      ?= go
BIN     := bin
CLUSTER ?= examples/demo/cluster.yaml
PROTO   := netlink/pb/kv_raft.proto

.PHONY: all build demo test vet proto proto-check clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# demo builds, starts three nodes from $(CLUSTER), opens the dashboard and
# stops the nodes when the dashboard exits.
demo: build
	./scripts/demo.sh $(CLUSTER)

test: vet proto-check
	$(GO) test -race -count=1 ./...

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above are not formatted"; exit 1; }
	$(GO) vet ./...

# proto regenerates the Go code from the schema with Debian's protoc and the
# protoc-gen-go pinned by the tool line in go.mod.
proto:
	PATH="$$(dirname $$($(GO) tool -n protoc-gen-go)):$$PATH" \
	  protoc --proto_path=netlink/pb --go_out=netlink/pb --go_opt=paths=source_relative $(PROTO)

# proto-check fails when the committed generated code differs from what the
# schema generates now.
proto-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	PATH="$$(dirname $$($(GO) tool -n protoc-gen-go)):$$PATH" \
	  protoc --proto_path=netlink/pb --go_out=$$tmp --go_opt=paths=source_relative $(PROTO) && \
	diff -u netlink/pb/kv_raft.pb.go $$tmp/kv_raft.pb.go >/dev/null || \
	  { echo "netlink/pb/kv_raft.pb.go is stale: run 'make proto' and commit"; exit 1; }

clean:
	rm -rf $(BIN) data
