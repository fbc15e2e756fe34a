# tokenstore: a clustered, Elasticsearch-compatible credential service.
GO       ?= go
BIN      := bin/tokenstore
PKGS     := ./...
export CGO_ENABLED ?= 0

.PHONY: build run cluster docker-certs test test-race lint bench fuzz chaos docker-test clean deps nginx chromium prometheus

build:
	$(GO) build -o $(BIN) ./cmd/tokenstore

# Module downloads are the only install step: Go is the whole toolchain.
deps:
	$(GO) mod download

# One node with its data in ./data/single; elastic's password is "changeme"
# unless ELASTIC_PASSWORD is set.
run: build
	ELASTIC_PASSWORD=$${ELASTIC_PASSWORD:-changeme} ./$(BIN) serve --node-id node-0 --bootstrap --data-dir data/single

# Three voters as processes on 9200-9202 / 9300-9302, and NON_VOTERS
# non-voting members on the ports after them, data in ./data/cluster, HTTPS
# and mutual TLS with a CA made once in ./data/cluster/certs.
NON_VOTERS ?= 0
cluster: build
	$(GO) run ./testcluster/run -bin $(BIN) -data data/cluster -non-voters $(NON_VOTERS)

# The CA and node certificates docker-compose.yml mounts (./data/docker-certs).
docker-certs: build
	@[ -f data/docker-certs/ca.key ] || ./$(BIN) certs ca --out data/docker-certs
	@for i in 0 1 2 3 4; do [ -f data/docker-certs/node-$$i.key ] || \
		./$(BIN) certs node --ca data/docker-certs --name node-$$i --hosts node-$$i,localhost,127.0.0.1 --out data/docker-certs; done

# The forward-auth tests and benchmark run a real nginx (Debian's package),
# installed here when missing: without it they fail, never skip.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
nginx:
	@command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || \
		($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y nginx)

# The console's acceptance test drives a real headless Chromium (Debian's
# package), installed here when missing: without it the test fails.
chromium:
	@command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || \
		($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)

# The metrics test scrapes the cluster with a real Prometheus server
# (Debian's package), installed here when missing: without it it fails.
prometheus:
	@command -v prometheus >/dev/null 2>&1 || [ -x /usr/bin/prometheus ] || \
		($(SUDO) apt-get update && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus)

test: deps nginx chromium prometheus
	$(GO) vet $(PKGS)
	$(GO) test -count=1 -timeout 10m $(PKGS)

# staticcheck at a pinned version: go run fetches it through the module
# proxy like any other module, so there is nothing to install first.
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint: deps
	$(GO) run $(STATICCHECK) $(PKGS)

test-race: deps nginx chromium prometheus
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m $(PKGS)

# In-process costs, then load runs against real nodes (each run once: they
# drive a cluster for a fixed time and report their own rates).
bench: deps nginx chromium
	$(GO) test -run '^$$' -bench 'Cached' -benchmem ./authn
	$(GO) test -run '^$$' -bench 'CredentialScrape' -benchmem ./metrics
	$(GO) test -run '^$$' -bench 'APIKeyFirst' -benchtime 20000x -benchmem ./authn
	$(GO) test -run '^$$' -bench 'Event|Validate' -benchtime 20000x -benchmem ./fsm
	$(GO) test -run '^$$' -bench 'BoltCommit|BoltOpen' ./cluster
	$(GO) test -run '^$$' -bench '3Nodes' -benchtime 1x -timeout 10m ./cluster
	$(GO) test -run '^$$' -bench 'Mount' -benchmem ./httpapi/console
	$(GO) test -run '^$$' -bench 'LastUsedRound100k' -benchtime 1x -benchmem ./authn
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./httpapi
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 30m ./snapshot

# Every fuzz target, FUZZTIME each (CI runs them for a few seconds).
FUZZTIME ?= 30s
fuzz: deps
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Minutes of faults with the linearizability check, and leader kill -9
# failover timings on processes (make test runs a short form of both).
CHAOS_DURATION ?= 5m
chaos: deps
	CHAOS_DURATION=$(CHAOS_DURATION) CHAOS_FAILOVER_RUNS=$${CHAOS_FAILOVER_RUNS:-10} \
		$(GO) test -count=1 -v -timeout 60m -run 'TestChaos|TestFailover' ./testcluster/chaos

# Builds the image and runs the three-container test (needs a Docker engine).
docker-test: build
	bash scripts/docker-test.sh

clean:
	rm -rf bin data
