# The two commands a new user runs (see README.md):
#   make dev    install what is missing, then run the whole pipeline locally
#   make test   install what is missing, then run every unit and integration test
#   make bench  run the benchmarks and rewrite the results in docs/benchmarks.md
GO ?= go

.PHONY: dev test build bench vet clean

# Built, then run: `go run` ends with status 1 on Ctrl-C whatever the program
# returns, and make would report "Error 1" after a clean stop. DEV_FLAGS
# passes flags to the dev mode (teller dev -help), e.g. other ports.
dev:
	./scripts/install-deps.sh run
	$(GO) build -o bin/teller ./cmd/teller
	./bin/teller dev $(DEV_FLAGS)

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
