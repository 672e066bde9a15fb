# Two commands for a new user: `make demo` (embedded default) and `make test` (the whole suite
# against the machine's real PostgreSQL and Redis). Everything they need is installed here.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: demo test stack bench-core engine-core install install-dev chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements-dev.txt $(VENV)/.runtime
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.runtime node_modules/.installed
install-dev: $(VENV)/.dev node_modules/.installed

# Browser tests drive Debian's chromium; install it when it is missing.
chromium:
	@command -v $(CHROMIUM) >/dev/null || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; }

demo: export DJANGO_SETTINGS_MODULE = xip_portal.settings.local
demo: install
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py migrate --noinput --verbosity 0
	$(PY) manage.py seed_demo
	@echo "Serving the Exchange OS portal on http://127.0.0.1:$(PORT)/  (Ctrl-C stops it)"
	$(PY) manage.py serve_demo 127.0.0.1:$(PORT)

# The full stack on this machine (README, "Full stack"): production settings, the machine's
# PostgreSQL and Redis, every process of the Procfile under honcho. Secrets are made once
# into stack.env (not in git): the Django and API-key secrets, and the local chain's mnemonic
# whose first account is the operator and second the settler (a stack.env from before the
# settler had its own key gets it added); anything already in the environment wins.
STACK_DB ?= xip_portal
stack: export DJANGO_SETTINGS_MODULE = xip_portal.settings.production
stack: export DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/$(STACK_DB)
stack: export CELERY_BROKER_URL ?= redis://127.0.0.1:6379/0
stack: export CACHE_URL ?= redis://127.0.0.1:6379/1
stack: export ALLOWED_HOSTS ?= 127.0.0.1,localhost
stack: export SECURE_SSL_REDIRECT ?= false
stack: export SECURE_COOKIES ?= false
stack: export CHAIN_RPC_URL ?= http://127.0.0.1:8545
stack: export CHAIN_DEPLOY_IF_MISSING ?= true
stack: install engine-core stack.env
	@grep -q '^CHAIN_SETTLER_KEY=' stack.env || { set -a; . ./stack.env; \
	  echo "CHAIN_SETTLER_KEY=$$($(call chain_key,1))" >> stack.env; echo "Added CHAIN_SETTLER_KEY to stack.env"; }
	set -a; . ./stack.env; set +a; \
	  $(PY) -c "import psycopg; c = psycopg.connect('postgres://postgres@127.0.0.1:5432/postgres', autocommit=True); \
	    c.execute('SELECT 1 FROM pg_database WHERE datname = %s', ['$(STACK_DB)']).fetchone() or c.execute('CREATE DATABASE $(STACK_DB)')" && \
	  $(PY) manage.py check_services && \
	  $(PY) manage.py migrate --noinput --verbosity 0 && \
	  $(PY) manage.py collectstatic --noinput --verbosity 0 && \
	  ENGINE_CORE_BUILD=$${ENGINE_CORE_BUILD:-$(ENGINE_CORE_BUILD)} exec $(VENV)/bin/honcho start

stack.env: | $(PY)
	@umask 077; export CHAIN_MNEMONIC="$$($(PY) -c 'from eth_account import Account; \
	  Account.enable_unaudited_hdwallet_features(); print(Account.create_with_mnemonic()[1])')"; { \
	  echo "SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))')"; \
	  echo "API_KEY_ENCRYPTION_KEYS=$$($(PY) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"; \
	  echo "CHAIN_MNEMONIC=\"$$CHAIN_MNEMONIC\""; \
	  echo "CHAIN_OPERATOR_KEY=$$($(call chain_key,0))"; \
	  echo "CHAIN_SETTLER_KEY=$$($(call chain_key,1))"; \
	} > $@; echo "Made $@ (secrets for the local full stack; keep it out of git)"

# The key of account $(1) of the local chain's mnemonic (CHAIN_MNEMONIC; anvil funds its
# first ten accounts): 0 is the operator (registrar), 1 the settler, never the same key.
chain_key = $(PY) -c 'import os, sys; from eth_account import Account; \
  from eth_account.hdaccount import ETHEREUM_DEFAULT_PATH as first; \
  Account.enable_unaudited_hdwallet_features(); \
  account = Account.from_mnemonic(os.environ["CHAIN_MNEMONIC"], account_path=first[:-1] + sys.argv[1]); \
  print("0x" + account.key.hex().removeprefix("0x"))' $(1)

# The compiled engine core is built (when its sources changed) while lint and types run,
# so the test comparing it with the pure source runs here too at little extra time.
test: export DJANGO_SETTINGS_MODULE = xip_portal.settings.test
test: install-dev chromium
	$(PY) manage.py check_services
	@mkdir -p build; $(MAKE) --no-print-directory engine-core > build/engine-core.log 2>&1 & \
	  build=$$!; $(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && \
	  $(VENV)/bin/mypy .; checked=$$?; \
	  wait $$build || { cat build/engine-core.log; exit 1; }; exit $$checked
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(VENV)/bin/pytest -q -n 2 --dist loadgroup

# The engine core compiled with mypyc for speed; the pure source stays the reference (tests
# run on it) and the bench refuses a build whose sources differ from the tree.
ENGINE_CORE_BUILD := build/engine-core

$(ENGINE_CORE_BUILD)/SOURCE_HASH: $(wildcard engine/core/*.py) engine/hugepages.c $(VENV)/.dev
	$(PY) -m engine.core_build $(ENGINE_CORE_BUILD)

engine-core: $(ENGINE_CORE_BUILD)/SOURCE_HASH

bench-core: install-dev engine-core
	$(PY) bench/engine_core.py --compiled $(ENGINE_CORE_BUILD)

clean:
	rm -rf $(VENV) node_modules staticfiles db.sqlite3 private_media build
