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
export MYSQL_ADDR

.PHONY: run test tools build test-unit test-integration vet fmt-check check-mysql bench clean fuzz fuzz-short

## run: start Temporal dev server + Web UI, bank simulator, worker and API on SQLite (Ctrl-C stops all)
run: tools build
	$(PAYFLOW) dev

## test: every test (-race), against MariaDB at $(MYSQL_ADDR) and SQLite, with a real Temporal dev server
test: tools check-mysql vet fmt-check
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 25m ./...

# Fuzz targets, as package:Target. make test runs only their seed corpora
# (testdata/fuzz); make fuzz runs each for FUZZTIME. The reconciliation statement
# parser's target joins the list when it lands (internal/recon).
FUZZ_TARGETS := \
	./internal/signing:FuzzVerifyRequest \
	./models:FuzzParseAmountJSON \
	./http/decode:FuzzStrict \
	./http/server:FuzzCreatePayment
FUZZTIME ?= 10s

## fuzz: run every fuzz target for FUZZTIME (default 10s) each
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "== $$name ($$pkg), $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## fuzz-short: every fuzz target for 5s (CI, after make test)
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5s

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

clean:
	rm -rf .payflow
