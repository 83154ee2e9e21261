# The two commands a new user runs (see README.md):
#   make dev    install what is missing, then run the whole pipeline locally
#   make test   install what is missing, then run every unit and integration test
#   make bench  run the benchmarks and rewrite the results in docs/benchmarks.md
GO ?= go

.PHONY: dev test build bench vet clean

dev:
	./scripts/install-deps.sh run
	$(GO) run ./cmd/teller dev

test:
	./scripts/install-deps.sh test
	$(GO) vet ./...
	$(GO) test -count=1 -timeout 30m ./...

build:
	CGO_ENABLED=0 $(GO) build -trimpath -o bin/ ./cmd/...

bench:
	./scripts/bench.sh

clean:
	rm -rf bin .teller-dev
