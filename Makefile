# The few commands a user types. Each installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HCP    := $(BIN)/haochaping

.PHONY: help install services browser up down status topics migrate demo dashboard test unit integration lint bench peer clean soak cluster-up cluster-down test-cluster

help:
	@echo "make demo         the main job on a fresh machine: services, worker, sink, traffic, report"
	@echo "make test         every test (starts Kafka and ClickHouse itself)"
	@echo "make unit         the fast tests that need no services"
	@echo "make up / down    start / stop Kafka, ClickHouse and the supervised worker and sink (by pid)"
	@echo "make services     only Kafka and ClickHouse (what the tests need)"
	@echo "make dashboard    the web dashboard in the foreground (make up runs it supervised)"
	@echo "make lint         ruff and mypy"
	@echo "make bench        throughput and latency measurements (see docs/benchmarks.md)"
	@echo "make cluster-up   3 Kafka brokers, ZooKeeper, 2 ClickHouse replicas (docs/scaling.md)"
	@echo "make cluster-down stop them"
	@echo "make test-cluster cluster-up, then the failure tests on it (tests/cluster)"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v java >/dev/null || { echo "error: Java 17+ is needed for Kafka (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "error: Maven is needed to fetch Kafka's jars (apt-get install maven)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

services: install
	bash deploy/services.sh up

# Debian's chromium, for the dashboard's browser test
browser:
	bash deploy/services.sh browser

# the worker and the sink under supervisord, on the default topics and database
up: services
	$(HCP) topics
	$(HCP) migrate
	bash deploy/supervise.sh up

down:
	bash deploy/supervise.sh down
	bash deploy/services.sh down

status:
	bash deploy/supervise.sh status || true
	bash deploy/services.sh status

topics: services
	$(HCP) topics

migrate: services
	$(HCP) migrate

demo: up
	bash deploy/demo.sh

dashboard: install
	$(HCP) dashboard

unit: install
	$(BIN)/pytest -q -n auto tests/unit

# the tests that need the services one at a time, then the unit tests on every core (half the
# time of one process on two cores); failures of either fail the target
test: services browser
	$(BIN)/pytest -q tests --ignore=tests/unit; status=$$?; \
	$(BIN)/pytest -q -n auto tests/unit || status=1; exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

# The Quix Streams peer of `make bench` (tests/bench/peer.py) in a virtualenv of its own:
# quixstreams pins pydantic below the project's version. Optional: if it cannot be installed,
# the bench prints why and leaves the peer's row out.
PEER_VENV := .venv-peer
QUIX      := quixstreams>=3.28,<4

peer:
	@[ -x $(PEER_VENV)/bin/python ] && $(PEER_VENV)/bin/python -c 'import quixstreams' 2>/dev/null \
	  || { $(PYTHON) -m venv $(PEER_VENV) && $(PEER_VENV)/bin/pip install --quiet '$(QUIX)'; } \
	  || echo "bench: the Quix Streams peer could not be installed into $(PEER_VENV); its row is left out"

bench: services peer
	$(BIN)/python -m tests.bench.run
	$(BIN)/python -m tests.bench.surges --before
	$(BIN)/python -m tests.bench.dashboard
	$(BIN)/python -m tests.bench.invitations
	$(BIN)/python -m tests.bench.cold_start

# A local cluster on ports of its own (deploy/cluster.sh): three KRaft brokers, one ZooKeeper,
# two ClickHouse replicas; beside the single-node services, not instead of them.
cluster-up: install
	bash deploy/cluster.sh up

cluster-down:
	bash deploy/cluster.sh down

# the failure tests (marker `cluster`); `make test` runs them too while the cluster is up
test-cluster: cluster-up
	HAOCHAPING_CLUSTER_TESTS=required $(BIN)/pytest -q -m cluster tests/cluster

clean: down cluster-down
	rm -rf $(VENV) $(PEER_VENV) .deploy .data

# not part of `make test`: 30 cycles of restarts (worker, sink, ClickHouse, a broker SIGKILL)
# with exact counts checked after each; 20 to 40 minutes
soak: services
	$(BIN)/python -m tests.soak.run
