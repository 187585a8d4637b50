# The few commands a user types. Each installs what it needs first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HCP    := $(BIN)/haochaping

.PHONY: help install up down status topics migrate demo test unit integration lint bench clean

help:
	@echo "make demo         the main job on a fresh machine: services, worker, sink, traffic, report"
	@echo "make test         every test (starts Kafka and ClickHouse itself)"
	@echo "make unit         the fast tests that need no services"
	@echo "make up / down    start / stop the local Kafka and ClickHouse (by pid)"
	@echo "make lint         ruff and mypy"
	@echo "make bench        throughput and latency measurements (see docs/benchmarks.md)"

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@command -v java >/dev/null || { echo "error: Java 17+ is needed for Kafka (apt-get install openjdk-17-jre-headless)"; exit 1; }
	@command -v mvn >/dev/null || { echo "error: Maven is needed to fetch Kafka's jars (apt-get install maven)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

up: install
	bash deploy/services.sh up

down:
	bash deploy/services.sh down

status:
	bash deploy/services.sh status

topics: up
	$(HCP) topics

migrate: up
	$(HCP) migrate

demo: up
	bash deploy/demo.sh

unit: install
	$(BIN)/pytest -q tests/unit

test: up
	$(BIN)/pytest -q tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: up
	$(BIN)/python -m tests.bench.run

clean: down
	rm -rf $(VENV) .deploy .data
