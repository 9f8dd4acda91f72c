# Blipay: `make run` serves it on embedded defaults; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.runtime
INSTALLED := $(VENV)/.installed
REAL_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/blipay
REAL_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672//
# The tests get a virtual host of their own, so a Blipay running on the same broker
# (make run, make bench) neither sees their events nor disturbs them.
TEST_VHOST ?= blipay_test
TEST_BROKER_URL ?= amqp://guest:guest@127.0.0.1:5672/$(TEST_VHOST)

.PHONY: install run run-service test lint test-embedded test-real test-cluster test-faults soak mutate bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip

# What Blipay needs to run (make run); the test and lint tools come on top (make install).
$(RUNTIME): requirements.txt | $(PY)
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

$(INSTALLED): requirements.txt requirements-dev.txt | $(PY)
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt
	touch $@ $(RUNTIME)

install: $(INSTALLED)

# Embedded defaults: one process. With DATABASE_URL and BROKER_URL: supervisord runs gunicorn,
# the Celery worker (the relay), one beat and the consumers, and restarts whichever dies.
# BLIPAY_SERVICE names the deployment (default monolith), PORT its HTTP port. Under
# BLIPAY_ENV=production no demo data and no admin are loaded.
run: $(RUNTIME)
	$(PY) manage.py createdb
	$(PY) manage.py migrate --noinput
	$(if $(filter production,$(BLIPAY_ENV)),@echo "BLIPAY_ENV=production: no demo data and no admin loaded (make one with manage.py createsuperuser)",$(PY) manage.py load_demo)
	$(PY) manage.py serve

# An extracted service: the same code for one module, on its own database, fed by the
# monolith's broker. E.g. make run-service SERVICE=notifications PORT=8001
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/blipay_notifications BROKER_URL=amqp://guest:guest@127.0.0.1:5672//
# Its processes (<service>-web, -worker, -beat, -consumers) and files (var/run/<service>/)
# are its own, so it runs beside the monolith.
run-service: $(RUNTIME)
	@test -n "$(SERVICE)" || { echo "usage: make run-service SERVICE=notifications [PORT=8001] DATABASE_URL=… BROKER_URL=…"; exit 2; }
	BLIPAY_SERVICE=$(SERVICE) $(PY) manage.py service_prepare
	BLIPAY_SERVICE=$(SERVICE) $(PY) manage.py migrate --noinput
	BLIPAY_SERVICE=$(SERVICE) $(PY) manage.py serve --port $${PORT:-8001}

# The whole suite: lint and import contracts, then the tests on the embedded defaults
# (SQLite + in-process broker), then all of them on PostgreSQL + RabbitMQ.
test: install lint test-embedded test-real

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# Tests of PostgreSQL's and RabbitMQ's own behaviour are deselected here, by name; test-real runs them.
test-embedded: install
	env -u DATABASE_URL -u BROKER_URL $(PY) -m pytest -q -m "not postgres and not rabbitmq"

test-real: install
	rabbitmqctl -q add_vhost $(TEST_VHOST) 2>/dev/null || true
	rabbitmqctl -q set_permissions -p $(TEST_VHOST) guest ".*" ".*" ".*"
	DATABASE_URL=$(REAL_DATABASE_URL) BROKER_URL=$(TEST_BROKER_URL) $(PY) -m pytest -q -m "not cluster and not faults"

# A private 3-node RabbitMQ cluster beside the machine's broker (tests/rabbitmq_nodes.py) loses
# the node leading the quorum queues mid-traffic; about a minute. .ci/run runs it once.
test-cluster: install
	rabbitmqctl -q add_vhost $(TEST_VHOST) 2>/dev/null || true
	rabbitmqctl -q set_permissions -p $(TEST_VHOST) guest ".*" ".*" ".*"
	DATABASE_URL=$(REAL_DATABASE_URL) BROKER_URL=$(TEST_BROKER_URL) $(PY) -m pytest -q -m cluster

# The fault suite (tests/faults), once, on PostgreSQL + a private RabbitMQ node of its own:
# steady traffic while the broker stops, the relay and consumers are SIGKILLed, database
# connections are terminated and a poison event arrives. BLIPAY_FAULT_SEED replays a run;
# FAULT_TESTS narrows it to one test.
FAULT_TESTS ?= tests/faults
test-faults: install
	rabbitmqctl -q add_vhost $(TEST_VHOST) 2>/dev/null || true
	rabbitmqctl -q set_permissions -p $(TEST_VHOST) guest ".*" ".*" ".*"
	DATABASE_URL=$(REAL_DATABASE_URL) BROKER_URL=$(TEST_BROKER_URL) $(PY) -m pytest -q -s -m faults $(FAULT_TESTS)

# Fixed-rate traffic for DURATION seconds with a fault every minute, on the same private
# stack; prints events produced/relayed/applied/lost/doubled, p99 latencies, each process's
# memory at start and end (more than 10 % growth fails) and the audit. E.g. make soak DURATION=600
DURATION ?= 600
soak: install
	DATABASE_URL=$(REAL_DATABASE_URL) $(PY) -m tests.faults.soak --duration $(DURATION)

# Mutation testing of the money and exactly-once code: the functions below (mutmut's names;
# the files and the tests that run: [tool.mutmut] in pyproject.toml). Fails below
# MUTATION_MIN percent of them killed. Not part of make test: minutes of CPU.
MUTATION_MIN ?= 90
MUTATION_SCOPE := 'apps.wallet.services.*' 'blipay.events.inbox.*' 'blipay.api.idempotency.*' \
	'blipay.events.relay.x_relay_batch__*' 'blipay.events.relay.x_relay_pending__*' \
	'blipay.events.relay.x__count_refusals__*' 'blipay.events.relay.x_retry_failed__*' \
	'blipay.events.consumers.x*_deliver_alone__*' \
	'apps.payments.services.x_bank_payment_confirm__*' 'apps.payments.services.x__settle__*' \
	'apps.payments.services.x*BankConfirmation*' 'apps.payments.signatures.*'
mutate: install
	rm -rf mutants
	env -u DATABASE_URL -u BROKER_URL $(VENV)/bin/mutmut run --max-children 2 $(MUTATION_SCOPE)
	$(VENV)/bin/mutmut results --all true > mutants/results.txt
	$(PY) tests/mutation_score.py --min $(MUTATION_MIN) mutants/results.txt $(MUTATION_SCOPE)

bench: install
	DATABASE_URL=$(REAL_DATABASE_URL) BROKER_URL=$(REAL_BROKER_URL) $(PY) -m bench

clean:
	rm -rf $(VENV) var mutants
