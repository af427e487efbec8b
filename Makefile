# payflow: make run (the whole local stack) and make test (every test).
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
STRIPE_MOCK := $(BIN)/stripe-mock
PAYFLOW := $(BIN)/payflow
TEMPORAL_VERSION := v1.5.1
STRIPE_MOCK_VERSION := v0.203.0
MYSQL_ADDR ?= 127.0.0.1:3306

.PHONY: run test tools build test-unit test-integration vet fmt-check check-mysql bench bench-recon clean

## run: start Temporal dev server + Web UI, bank simulator, worker and API on SQLite (Ctrl-C stops all)
run: tools build
	$(PAYFLOW) dev

## test: every test (-race), against MariaDB at $(MYSQL_ADDR) and SQLite, with a real Temporal dev server
test: tools check-mysql vet fmt-check
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 25m ./...

tools: $(TEMPORAL) $(STRIPE_MOCK)

# The pinned Temporal CLI holds the dev server and Temporal Web (about two minutes
# to build the first time; later runs reuse ./bin).
$(TEMPORAL):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(STRIPE_MOCK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

build:
	@mkdir -p $(BIN)
	$(GO) build -o $(PAYFLOW) ./cmd/payflow

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# make test never skips MySQL: without it, it stops here with a clear message.
check-mysql:
	@if ! (exec 3<>/dev/tcp/$${MYSQL_ADDR%:*}/$${MYSQL_ADDR#*:}) 2>/dev/null; then \
		echo "MariaDB/MySQL is not reachable at $(MYSQL_ADDR) (root, empty password)."; \
		echo "Start it (start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd) or set MYSQL_ADDR."; \
		exit 1; \
	fi

## bench-recon: reconcile 100k and 1M statement lines against as many records on MariaDB at $(MYSQL_ADDR), in bounded memory; figures to bench/results/recon.json
bench-recon: check-mysql
	MYSQL_ADDR=$(MYSQL_ADDR) $(GO) run ./bench/recon -out bench/results/recon.json

clean:
	rm -rf .payflow
