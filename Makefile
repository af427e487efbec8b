# payflow: make run (the whole local stack) and make test (every test).
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
STRIPE_MOCK := $(BIN)/stripe-mock
HELM := $(BIN)/helm
PAYFLOW := $(BIN)/payflow
TEMPORAL_VERSION := v1.5.1
STRIPE_MOCK_VERSION := v0.203.0
# Helm 3, built from source by go install (4 to 6 minutes cold on 2 cores, seconds once
# the module and build caches are warm).
HELM_VERSION := v3.22.0
# The Kubernetes version charts are rendered for: a helm built by go install reports an
# old default (v1.20) that the chart's kubeVersion refuses.
HELM_KUBE_VERSION := 1.30.0
MYSQL_ADDR ?= 127.0.0.1:3306
export MYSQL_ADDR

.PHONY: test-e2e run test tools helm-check helm-lint build test-unit test-integration vet fmt-check check-mysql bench clean fuzz fuzz-short

## run: start Temporal dev server + Web UI, bank simulator, worker and API on SQLite (Ctrl-C stops all)
run: tools build
	$(PAYFLOW) dev

## test: every test (-race), against MariaDB at $(MYSQL_ADDR) and SQLite, with a real Temporal dev server
test: tools check-mysql vet fmt-check helm-lint
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

tools: $(TEMPORAL) $(STRIPE_MOCK) $(HELM)

# The pinned Temporal CLI holds the dev server and Temporal Web (about two minutes
# to build the first time; later runs reuse ./bin).
$(TEMPORAL):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(STRIPE_MOCK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

$(HELM):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

## helm-check: lint and render helm/payflow (defaults and ci/prod-values.yaml), then test the manifests
helm-check: helm-lint
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -count=1 ./helm/...

# make test runs this too; its go test ./... includes helm/payflow_test.go.
helm-lint: $(HELM)
	$(HELM) lint --strict helm/payflow --kube-version $(HELM_KUBE_VERSION)
	$(HELM) lint --strict helm/payflow --kube-version $(HELM_KUBE_VERSION) -f helm/payflow/ci/prod-values.yaml
	$(HELM) template payflow helm/payflow --kube-version $(HELM_KUBE_VERSION) > /dev/null
	$(HELM) template payflow helm/payflow --kube-version $(HELM_KUBE_VERSION) -f helm/payflow/ci/prod-values.yaml > /dev/null

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

## test-e2e: Temporal Web in headless Chromium (Debian's chromium package) finds a payment and shows its decoded input
test-e2e: tools
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -tags browser -count=1 -timeout 10m ./internal/browser/

clean:
	rm -rf .payflow
