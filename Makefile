# The two commands of orderflow:
#   make run   start PostgreSQL, Kafka, Elasticsearch and Prometheus (installing what is
#              missing), apply migrations and serve the API on :8080
#   make test  the same dependencies, then the whole suite with -race
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO      ?= go
BIN     := bin/orderflow
DEPS    := deploy/local/deps
GOFLAGS ?=

.PHONY: help run test deps stop status clean build migrate generate lint bench deploy-check helm cluster-up cluster-down cluster-status drill drill-short

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

# `make run` is development mode (the built-in JWT secret, GraphQL
# introspection); the binary's own default is not. ORDERFLOW_DEV=false in the
# environment (with ORDERFLOW_JWT_SECRET) runs it as production would.
run migrate: export ORDERFLOW_DEV ?= true

run: deps build ## start the dependencies, migrate and serve everything on :8080 (development mode)
	$(BIN) migrate
	$(BIN) all

test: deps ## start the dependencies and run the whole suite against them
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 45m ./...
	$(MAKE) deploy-check
	$(MAKE) drill-short

HELM_VERSION := v3.22.0

deploy-check: ## lint, render and validate the Helm chart; validate the compose file (offline, deploy/check)
	cd deploy/check && $(GO) vet ./... && $(GO) test -count=1 ./...

CLUSTER := deploy/local/cluster

cluster-up: build ## run orderflow as a local cluster: lb on :8080, 2x api, worker, relay, projector
	$(CLUSTER) up

cluster-down: ## stop the local cluster
	$(CLUSTER) down

cluster-status: ## processes of the local cluster: role, pid, readiness, partitions held
	$(CLUSTER) status

# Drills kill processes and servers: run `make drill` only against servers
# of your own (see docs/resilience.md for a private set on other ports).
drill: build ## every crash drill against the local cluster (docs/resilience.md)
	$(CLUSTER) up
	$(BIN) drill --url http://127.0.0.1:$${ORDERFLOW_LB_PORT:-8080}/graphql

# The short drill of make test kills only orderflow processes (never a
# server), in a cluster of its own: its own database, namespace and ports.
drill-short: build ## a short drill (a worker killed, a rolling restart) on a cluster of its own
	export ORDERFLOW_NAMESPACE=drillshort ORDERFLOW_LB_PORT=8680 ORDERFLOW_CLUSTER_BASE_PORT=8680 \
		ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/orderflow_drillshort?sslmode=disable" \
		ORDERFLOW_CLUSTER_DIR=$(CURDIR)/.local/drill-short ORDERFLOW_DEV=true; \
	$(CLUSTER) up && \
	$(BIN) drill --url http://127.0.0.1:8680/graphql --scenarios "one worker,rolling" --duration 30s --fault-at 12s --down 8s; \
	rc=$$?; $(CLUSTER) down; exit $$rc

helm: ## install the helm CLI (a Go module) into bin/
	GOBIN=$(CURDIR)/bin $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)

deps: ## start PostgreSQL, Kafka, Elasticsearch and Prometheus (idempotent)
	$(DEPS) start

stop: ## stop the dependencies (data is kept)
	$(DEPS) stop

status: ## show the dependencies' versions and addresses
	$(DEPS) status

clean: ## stop the dependencies and delete their data (downloads stay cached)
	$(DEPS) clean
	rm -rf bin

build: ## build bin/orderflow
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/orderflow

migrate: deps build ## apply database migrations
	$(BIN) migrate

generate: ## regenerate gqlgen code from graph/schema
	$(GO) generate ./...

bench: deps ## Go micro-benchmarks of the adapters (see docs/benchmarks.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...
