# tenken — two commands on a fresh Debian machine: `make demo` and `make test`.
# `make setup` is what both need; it is quick when nothing changed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 poppler-utils
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
YEAR ?= 2020
CONFIG ?=
YEARS ?=
# CONFIG=config/minato: the demo runs that plan folder (every year of its results/, or YEARS="2023 2024").
DEMO_CONFIG := $(if $(CONFIG),TENKEN_CONFIG_DIR=$(abspath $(CONFIG)))

.PHONY: setup system-packages browser-packages office-packages mail-packages demo stop test bench clean

setup: system-packages $(BIN)/tenken

# Japanese fonts, HarfBuzz subsetting (fast font embedding in WeasyPrint), pdftotext/pdftoppm.
# $(call install-missing,PACKAGES,OPTIONS,AFTER): apt-get install those of PACKAGES not installed yet, then AFTER.
define install-missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) $$missing; \
	  $(3) \
	fi
endef

system-packages:
	$(call install-missing,$(DEBIAN_PACKAGES),,)

# LibreOffice Calc without a GUI, and Carlito (metric-compatible with Excel's Calibri, so the form prints at
# Excel's size): the tests open each request workbook as a clerk would and print it to PDF.
OFFICE_PACKAGES := libreoffice-calc-nogui fonts-crosextra-carlito
office-packages:
	$(call install-missing,$(OFFICE_PACKAGES),--no-install-recommends,)

# Dovecot's IMAP server: the mail tests (and `make demo MAIL=1`) run their own instance in a temporary folder;
# the system service the package starts is stopped and disabled.
MAIL_PACKAGES := dovecot-imapd
DOVECOT_OFF := $(SUDO) service dovecot stop >/dev/null 2>&1 || true; $(SUDO) update-rc.d dovecot disable >/dev/null 2>&1 || true;
mail-packages:
	$(call install-missing,$(MAIL_PACKAGES),--no-install-recommends,$(DOVECOT_OFF))

# The browser tests drive Debian's chromium (Playwright cannot download its own browser here).
browser-packages:
	@[ -x /usr/bin/chromium ] || { $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

$(BIN)/tenken: pyproject.toml
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# The FY2020 cycle as a prefecture runs it: Prefect server, work pool, worker and deployments on this
# machine (scripts/stack.sh), the site served on 127.0.0.1:8000. Pauses at the review and prints the run's
# UI address; APPROVE=1 approves through the API and runs to publication. `make stop` ends it all.
# Without SLACK_BOT_TOKEN, stack.sh serves the Slack stand-in on 127.0.0.1:4300 and the departments post there.
# The server's credentials: PREFECT_SERVER_API_AUTH_STRING if you set one, else what stack.sh generated.
DEMO_ENV := PREFECT_API_URL=http://127.0.0.1:4200/api PREFECT_UI_URL=http://127.0.0.1:4200 \
	PREFECT_API_AUTH_STRING="$${PREFECT_SERVER_API_AUTH_STRING:-$$(cat $(CURDIR)/var/run/prefect-auth)}" \
	PREFECT_HOME=$(CURDIR)/var/run/prefect TENKEN_VAR_DIR=$(CURDIR)/var/deployed \
	$(if $(SLACK_BOT_TOKEN),,TENKEN_DEMO_WORKSPACE=http://127.0.0.1:4300)
# MAIL=1: every 3rd department is asked by mail and answers by mail (stack.sh serves an SMTP stand-in and dovecot's
# IMAP on 127.0.0.1, the mailboxes under var/run/mail, tenken's mail settings in var/run/mail.env); the demo writes
# the mails to var/deployed/mail.txt. `make stop` before switching MAIL=1 on or off.
MAIL_ENV := set -a && . $(CURDIR)/var/run/mail.env && set +a && TENKEN_DEMO_MAIL=1 \
	TENKEN_MAIL_PASSWORD="$$(cut -d: -f2- $(CURDIR)/var/run/mail-password)"

demo: setup $(if $(MAIL),mail-packages)
	$(if $(MAIL),TENKEN_DEMO_MAIL=1) $(DEMO_CONFIG) scripts/stack.sh start
	$(if $(MAIL),$(MAIL_ENV),$(DEMO_CONFIG)) $(DEMO_ENV) $(BIN)/tenken-demo --deployed $(if $(APPROVE),--approve) $(foreach y,$(YEARS),--year $(y))

stop:
	scripts/stack.sh stop

# Two workers for everything but the browser tests (each file stays on one worker: the Prefect harness and the
# Slack stand-ins are per module or session), then the browser tests on their own, since each starts a whole stack.
test: setup browser-packages office-packages mail-packages
	$(BIN)/pytest -q -n 2 --dist loadfile -m "not browser"
	$(BIN)/pytest -q -m browser

bench: setup mail-packages
	$(BIN)/python benchmarks/bench_core.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_intake.py
	$(BIN)/python benchmarks/bench_cycle.py
	$(BIN)/python benchmarks/bench_flows.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python -W ignore benchmarks/bench_mail_collect.py

clean:
	rm -rf var site out .pytest_cache test-artifacts
