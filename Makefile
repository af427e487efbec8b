# payflow: make run (the whole local stack), make test (every test), make cluster (the
# production shape: a real Temporal cluster, two workers, two API replicas) and make
# test-cluster / make capacity on it.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
TEMPORAL := $(BIN)/temporal
STRIPE_MOCK := $(BIN)/stripe-mock
HELM := $(BIN)/helm
PROMTOOL := $(BIN)/promtool
PAYFLOW := $(BIN)/payflow
TEMPORAL_VERSION := v1.5.1
STRIPE_MOCK_VERSION := v0.203.0
# Helm 3, built from source by go install (4 to 6 minutes cold on 2 cores, seconds once
# the module and build caches are warm).
HELM_VERSION := v3.22.0
# The Kubernetes version charts are rendered for: a helm built by go install reports an
# old default (v1.20) that the chart's kubeVersion refuses.
HELM_KUBE_VERSION := 1.30.0
# The Temporal server and its sql tool for make cluster; internal/harness/cluster checks the
# version it finds in ./bin against cluster.ServerVersion.
TEMPORAL_SERVER_VERSION := v1.29.1
TEMPORAL_SERVER := $(BIN)/temporal-server
TEMPORAL_SQL_TOOL := $(BIN)/temporal-sql-tool
MYSQL_ADDR ?= 127.0.0.1:3306
export MYSQL_ADDR
# The Redis of internal/cache's tests (one of them flushes its database 15).
PAYFLOW_TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
export PAYFLOW_TEST_REDIS_URL

.PHONY: api-client api-check api-lint
.PHONY: sim run test tools build test-unit test-integration vet fmt-check check-mysql check-redis check-postgres bench bench-recon bench-retention bench-cluster clean \
	test-e2e helm-check helm-lint alerts-check fuzz fuzz-short cluster cluster-tools test-cluster capacity chaos

## run: start Temporal dev server + Web UI, bank simulator, stripe-mock, worker and API on SQLite (Ctrl-C stops all)
# It builds only what it runs (the Temporal CLI, stripe-mock and payflow, side by side:
# one downloads modules while another compiles), never helm or the cluster's tools.
run:
	@$(MAKE) --no-print-directory -j3 $(TEMPORAL) $(STRIPE_MOCK) build
	$(PAYFLOW) dev

## test: every test (-race), against MariaDB at $(MYSQL_ADDR) and SQLite, Redis at $(PAYFLOW_TEST_REDIS_URL), with a real Temporal dev server
test: tools check-mysql check-redis vet fmt-check helm-lint api-check api-lint
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -race -count=1 -timeout 25m ./...

# Fuzz targets, as package:Target. make test runs only their seed corpora
# (testdata/fuzz); make fuzz runs each for FUZZTIME. The reconciliation statement
# parser is internal/recon:FuzzStatementLine, the fund company's confirmations file
# parser internal/recon:FuzzConfirmationLine.
FUZZ_TARGETS := \
	./internal/signing:FuzzVerifyRequest \
	./models:FuzzParseAmountJSON \
	./models:FuzzIdentity \
	./models:FuzzIdentityKey \
	./http/decode:FuzzStrict \
	./http/server:FuzzCreatePayment \
	./internal/recon:FuzzStatementLine \
	./internal/recon:FuzzConfirmationLine \
	./http/callbacks:FuzzWalletNotification \
	./internal/bank/identity:FuzzParseBureauCallback \
	./internal/bank/fund:FuzzParseCallback
FUZZTIME ?= 10s
# Target=FUZZTIME pairs that replace FUZZTIME for those targets (none unless set).
FUZZTIME_FOR ?=

## fuzz: run every fuzz target for FUZZTIME (default 10s) each
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; time=$(FUZZTIME); \
		for o in $(FUZZTIME_FOR); do if [ "$${o%%=*}" = "$$name" ]; then time=$${o#*=}; fi; done; \
		echo "== $$name ($$pkg), $$time"; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $$time $$pkg; \
	done

## fuzz-short: every fuzz target for 20000 inputs, the slow ones (FUZZ_SHORT_SLOW) for 5000 (CI, after make test)
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can fail a
# target with a bare "context deadline exceeded" at the end of the window on a loaded
# machine (go.dev/issue/75804, fixed in Go 1.27), although it found nothing.
# The slow ones import the HTTP stack or the bank simulator (likely why: far more
# instrumented code, whose coverage counters the fuzzer resets and scans around every
# input; not profiled): an input costs them about ten
# times what it costs the others (0.3 to 0.6 ms on 2 quiet cores, 0.7 to 2.3 ms on a
# loaded machine) and each takes 4 to 7 s to start. At 20000 inputs they were most of
# make fuzz-short's time (271 s in CI); with these counts it took 34 s on 2 cores at a
# load of 4 (before FuzzConfirmationLine joined: 20000 inputs in about 2 s), and about
# 70 s is the estimate at a load of 8.
FUZZ_SHORT_INPUTS := 20000x
FUZZ_SHORT_SLOW := FuzzCreatePayment=5000x FuzzWalletNotification=5000x \
	FuzzParseBureauCallback=5000x FuzzParseCallback=5000x
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(FUZZ_SHORT_INPUTS) FUZZTIME_FOR='$(FUZZ_SHORT_SLOW)'

# The deterministic simulation of the money flows (bench/sim): SEEDS seeds, each a
# schedule of flows, bank faults, crashes, cancels and forged callbacks, checked
# against the exactly-once invariants; a failure prints the seed and the shortest
# schedule that still fails.
SEEDS ?= 500

## sim: run the deterministic simulation over SEEDS seeds (default 500)
sim:
	$(GO) run ./bench/sim -seeds $(SEEDS)

# tools: everything make test needs in ./bin (make run needs only the first two).
tools: $(TEMPORAL) $(STRIPE_MOCK) $(HELM) $(PROMTOOL)

## cluster: a real Temporal cluster (frontend, history, matching, worker as separate processes on
## PostgreSQL), the bank simulator, two workers and two API replicas (:8080, :8081) on MariaDB (Ctrl-C stops all)
cluster: tools cluster-tools build check-mysql check-postgres
	$(PAYFLOW) cluster

# The Temporal server and temporal-sql-tool, pinned (about 80 s to build on an idle
# 2-core machine; 5 minutes with a cold module cache on a busy one; later runs reuse
# ./bin). Rebuilt only when ./bin holds another version.
cluster-tools:
	@if ! $(TEMPORAL_SERVER) --version 2>/dev/null | grep -q ' $(TEMPORAL_SERVER_VERSION:v%=%)$$' || [ ! -x $(TEMPORAL_SQL_TOOL) ]; then \
		echo "building the Temporal server $(TEMPORAL_SERVER_VERSION) and temporal-sql-tool into ./bin"; \
		rm -rf $(BIN)/.temporal-build && mkdir -p $(BIN)/.temporal-build && \
		GOBIN=$(BIN)/.temporal-build $(GO) install go.temporal.io/server/cmd/server@$(TEMPORAL_SERVER_VERSION) \
			go.temporal.io/server/cmd/tools/sql@$(TEMPORAL_SERVER_VERSION) && \
		mv $(BIN)/.temporal-build/server $(TEMPORAL_SERVER) && mv $(BIN)/.temporal-build/sql $(TEMPORAL_SQL_TOOL) && \
		rmdir $(BIN)/.temporal-build; \
	fi

## test-cluster: on a throwaway cluster, 200 mixed flows through both API replicas with a worker and a
## history process killed, a rolling upgrade from the release-1 payment workflow, replay state shared by replicas
test-cluster: tools cluster-tools check-mysql check-postgres
	$(GO) vet -tags cluster ./internal/harness/cluster/...
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -tags cluster -count=1 -timeout 12m -v -skip 'TestCapacity' ./internal/harness/cluster/clustertest

## capacity: measure per-flow costs on a throwaway cluster (docs/capacity.md quotes its output)
capacity: tools cluster-tools check-mysql check-postgres
	PAYFLOW_TEST_BIN_DIR=$(BIN) PAYFLOW_SQL_COUNTER=1 PAYFLOW_CAPACITY_OUT=$(CURDIR)/docs/capacity-measured.md \
		$(GO) test -tags cluster -count=1 -timeout 20m -v -run 'TestCapacity' ./internal/harness/cluster/clustertest

# The pinned Temporal CLI holds the dev server and Temporal Web (about 600 CPU-seconds
# to build from empty caches, the largest part of a first make run; later runs reuse
# ./bin). docs/performance.md has the measured figures.
$(TEMPORAL):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_VERSION)

$(STRIPE_MOCK):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

$(HELM):
	@mkdir -p $(BIN)
	GOBIN=$(BIN) $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

# promtool, Prometheus' rule checker, for the chart's alert tests: the binary of
# Debian's prometheus package (apt-get download and dpkg-deb -x into a temporary
# directory; nothing is installed and no service starts), on any machine with
# apt-get, in seconds.
$(PROMTOOL):
	@mkdir -p $(BIN)
	@command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null || \
		{ echo "promtool comes from Debian's prometheus package: this machine has no apt-get/dpkg-deb; put a promtool (2.42 or later) in $(BIN)"; exit 1; }
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && chmod 755 "$$tmp" && cd "$$tmp" && \
		{ apt-get download -q prometheus >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get download -q prometheus; }; } && \
		dpkg-deb -x prometheus_*.deb root && install -m 0755 root/usr/bin/promtool $(PROMTOOL)
	$(PROMTOOL) --version | head -1

## helm-check: lint and render helm/payflow (defaults and ci/prod-values.yaml), then test the manifests, the alerts
## (promtool) and the dashboard
helm-check: helm-lint $(PROMTOOL)
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -count=1 ./helm/...

## alerts-check: promtool check rules and promtool test rules (helm/alerts_test.yaml) on the chart's PrometheusRule,
## and the dashboard's queries against the series the code exports (make test runs them too, in go test ./...)
alerts-check: $(HELM) $(PROMTOOL)
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -count=1 -run 'TestAlert|TestDashboard' -v ./helm/

# make test runs this too; its go test ./... includes helm/payflow_test.go.
helm-lint: $(HELM)
	$(HELM) lint --strict helm/payflow --kube-version $(HELM_KUBE_VERSION)
	$(HELM) lint --strict helm/payflow --kube-version $(HELM_KUBE_VERSION) -f helm/payflow/ci/prod-values.yaml
	$(HELM) template payflow helm/payflow --kube-version $(HELM_KUBE_VERSION) > /dev/null
	$(HELM) template payflow helm/payflow --kube-version $(HELM_KUBE_VERSION) -f helm/payflow/ci/prod-values.yaml > /dev/null

# The Go client of api/openapi.yaml (api/client/client.gen.go) is generated by
# oapi-codegen, run by go run at its pinned version: the generator's own dependencies
# stay out of payflow's go.mod (only the generated code's runtime is in it).
OAPI_CODEGEN := github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2

## api-client: regenerate the Go client (api/client/client.gen.go) from api/openapi.yaml
api-client:
	cd api/client && $(GO) run $(OAPI_CODEGEN) -config oapi-codegen.yaml ../openapi.yaml

# make test: the committed client is what oapi-codegen makes of today's api/openapi.yaml.
api-check:
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	cd api/client && sed "s|^output: .*|output: $$tmp/client.gen.go|" oapi-codegen.yaml > "$$tmp/config.yaml" && \
	$(GO) run $(OAPI_CODEGEN) -config "$$tmp/config.yaml" ../openapi.yaml && \
	if ! cmp -s "$$tmp/client.gen.go" client.gen.go; then \
		diff -u client.gen.go "$$tmp/client.gen.go" | head -40; \
		echo "api/client/client.gen.go is not what api/openapi.yaml generates: run make api-client and commit it"; exit 1; \
	fi

# Redocly CLI, pinned by api/lint/package-lock.json, from the npm registry into bin/redocly
# (node and npm from the system); it runs without a network once installed.
REDOCLY := $(BIN)/redocly/node_modules/.bin/redocly
$(REDOCLY): api/lint/package.json api/lint/package-lock.json
	@mkdir -p $(BIN)/redocly
	cp api/lint/package.json api/lint/package-lock.json $(BIN)/redocly/
	cd $(BIN)/redocly && npm ci --no-audit --no-fund --ignore-scripts
	@touch $(REDOCLY)

## api-lint: lint api/openapi.yaml with Redocly's recommended rules as errors, plus every operation and tag described
## and every array schema with items (api/lint/redocly.yaml)
api-lint: $(REDOCLY)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1 \
		$(REDOCLY) lint api/openapi.yaml --config api/lint/redocly.yaml --format=stylish

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

# Nor Redis: the cache's tests fail without it, so make test stops here first. Only the
# address is printed (the URL may hold a password).
check-redis:
	@u=$$PAYFLOW_TEST_REDIS_URL; a=$${u#*://}; a=$${a##*@}; a=$${a%%/*}; a=$${a%%\?*}; \
	case $$a in *:*) ;; *) a=$$a:6379 ;; esac; \
	if ! (exec 3<>/dev/tcp/$${a%:*}/$${a#*:}) 2>/dev/null; then \
		echo "Redis is not reachable at $$a (PAYFLOW_TEST_REDIS_URL; the cache's tests need it)."; \
		echo "Start it (redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no) or set PAYFLOW_TEST_REDIS_URL."; \
		exit 1; \
	fi

## test-e2e: in headless Chromium (Debian's chromium package): Temporal Web finds a payment and shows its decoded input; a wallet app pays a QR code at its provider's checkout (screenshots in .payflow/)
test-e2e: tools
	PAYFLOW_TEST_BIN_DIR=$(BIN) $(GO) test -tags browser -count=1 -timeout 10m ./internal/harness/browser/
# make cluster keeps Temporal's state in PostgreSQL (user root unless
# PAYFLOW_CLUSTER_PG_USER / _PASSWORD say otherwise).
PAYFLOW_CLUSTER_PG_ADDR ?= 127.0.0.1:5432
export PAYFLOW_CLUSTER_PG_ADDR
check-postgres:
	@a=$$PAYFLOW_CLUSTER_PG_ADDR; if ! (exec 3<>/dev/tcp/$${a%:*}/$${a#*:}) 2>/dev/null; then \
		echo "PostgreSQL is not reachable at $(PAYFLOW_CLUSTER_PG_ADDR) (make cluster keeps Temporal's state there; user root, trust authentication)."; \
		echo "Start it: pg_ctlcluster --skip-systemctl-redirect \$$(ls /etc/postgresql) main start"; \
		exit 1; \
	fi
## bench: on make run's stack and ports (payflow's data on MariaDB at $(MYSQL_ADDR)): card payments end to end beside raw
## Temporal workflows on the same dev server at 16 and 64 clients, one client's synchronous payment beside a raw
## one-activity workflow, ledger postings beside raw MariaDB commits, and bench-recon; figures to
## bench/results/latest.json (about 15 minutes on 2 cores, 20 on a busy machine). BENCH_FLAGS passes flags (go run ./bench -h).
BENCH_FLAGS ?=
bench: $(TEMPORAL) $(STRIPE_MOCK) check-mysql
	MYSQL_ADDR=$(MYSQL_ADDR) $(GO) run ./bench $(BENCH_FLAGS)

## bench-cluster: make bench's cluster mode: payments on a throwaway cluster of the production shape with one and two
## workers and API replicas, beside an empty workflow on the same Temporal; table to bench/results/cluster.md (minutes)
bench-cluster: $(TEMPORAL) $(STRIPE_MOCK) cluster-tools check-mysql check-postgres
	MYSQL_ADDR=$(MYSQL_ADDR) $(GO) run ./internal/harness/cluster/clusterbench -out bench/results/cluster.md

## chaos: on make run's ports and MariaDB at $(MYSQL_ADDR): 500 flows under bank faults with the worker killed twice and the
## API once, 150 with the Temporal dev server killed and restarted, then the edges (operators' cancels, deadlines, a bank
## that refuses to cancel and one killed, a merchant disabled, stripe); false bank callbacks throughout; exits non-zero on
## anything lost or done twice
# Needs the Temporal CLI and stripe-mock of make tools (not helm); refuses to start while
# make run (or anything else) holds 7233, 8233, 8090, 8080 or (edges) 12111.
chaos: $(TEMPORAL) $(STRIPE_MOCK) build check-mysql
	$(GO) run ./bench/chaos -bin $(BIN)

## bench-recon: reconcile 100k and 1M statement lines against as many records on MariaDB at $(MYSQL_ADDR), in bounded memory; figures to bench/results/recon.json
bench-recon: check-mysql
	MYSQL_ADDR=$(MYSQL_ADDR) $(GO) run ./bench/recon -out bench/results/recon.json

## bench-retention: rows and bytes of the records with a retention (events, webhook attempts, nonces, ...) that a million
## payments leave, on MariaDB at $(MYSQL_ADDR), and how fast the purge deletes them; table to bench/results/retention.md
## (docs/capacity.md; about 15 minutes on 2 shared cores; BENCH_RETENTION_FLAGS=-payments=100000 for a quick look)
bench-retention: check-mysql
	MYSQL_ADDR=$(MYSQL_ADDR) $(GO) run ./bench/retention -out bench/results/retention.md $(BENCH_RETENTION_FLAGS)

clean:
	rm -rf .payflow
