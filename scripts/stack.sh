#!/usr/bin/env bash
# The demo's services on this machine: Prefect server (SQLite unless PREFECT_API_DATABASE_CONNECTION_URL),
# the process work pool "tenken" and one worker, the deployments, the review site (drafts by signed links)
# and the published site on local web servers.
# The server asks for credentials (PREFECT_SERVER_API_AUTH_STRING, "user:password"): from the environment,
# else generated on first start into $RUN/prefect-auth (owner-only) and printed once. Clients (worker, CLI,
# tests, the UI's sign-in page) give the same string as PREFECT_API_AUTH_STRING. Everything listens on
# 127.0.0.1; README says how to serve it on a network (behind a TLS reverse proxy).
#   scripts/stack.sh start   start what is not running yet (idempotent), deploy
#   scripts/stack.sh stop    stop everything `start` started, and check that nothing is left
# TENKEN_PREFECT_PORT, TENKEN_SITE_PORT, TENKEN_RUN_DIR (pids, logs, PREFECT_HOME), TENKEN_SITE_DIR and
# TENKEN_VAR_DIR move it elsewhere, so that the browser tests run their own beside a running demo.
# TENKEN_DEMO_MAIL=1 (make demo MAIL=1): every 3rd department is asked by mail (the plan folder $RUN/config,
# tenken_demo.mail_demo), with an SMTP stand-in (TENKEN_SMTP_PORT, 4325) and dovecot's IMAP (TENKEN_IMAP_PORT,
# 4326) on 127.0.0.1, mailboxes under $RUN/mail, the login in $RUN/mail-password, the settings in $RUN/mail.env.
# Each service runs in its own session (setsid) so that stopping its process group also ends its children
# (uvicorn under the server, flow-run processes under the worker).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUN=${TENKEN_RUN_DIR:-$ROOT/var/run}
VAR=${TENKEN_VAR_DIR:-$ROOT/var/deployed}
# cycle.yaml's relative publish_target ("site") is a folder of the var folder.
SITE=${TENKEN_SITE_DIR:-$VAR/site}
BIN=$ROOT/.venv/bin
PORT=${TENKEN_PREFECT_PORT:-4200}
SITE_PORT=${TENKEN_SITE_PORT:-8000}
SLACK_PORT=${TENKEN_SLACK_PORT:-4300}
REVIEW_PORT=${TENKEN_REVIEW_PORT:-4310}
AUTH_FILE=$RUN/prefect-auth
export PREFECT_API_URL=${PREFECT_API_URL:-http://127.0.0.1:$PORT/api}
export PREFECT_UI_API_URL=${PREFECT_UI_API_URL:-$PREFECT_API_URL}
export PREFECT_UI_URL=${PREFECT_UI_URL:-http://127.0.0.1:$PORT}
# The demo's server keeps its database and settings in var/run, not in the user's ~/.prefect.
export PREFECT_HOME=$RUN/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED=false
export DO_NOT_TRACK=1
# SQLite: a resume arriving while the worker and the paused run poll met "database is locked" at the default 10 s.
export PREFECT_SERVER_DATABASE_TIMEOUT=${PREFECT_SERVER_DATABASE_TIMEOUT:-30}
SERVICES="site review worker slack smtp imap server"
MAIL_MODE=${TENKEN_DEMO_MAIL:-}
SMTP_PORT=${TENKEN_SMTP_PORT:-4325}
IMAP_PORT=${TENKEN_IMAP_PORT:-4326}
MAIL_ROOT=$RUN/mail
MAIL_LOGIN=$RUN/mail-password
MAIL_ENV=$RUN/mail.env

descendants() {  # a process's children, grandchildren, ... (flow runs may start their own sessions)
  local child
  for child in $(pgrep -P "$1" || true); do echo "$child"; descendants "$child"; done
}

# A killed process whose new parent has not reaped it yet is a zombie: it answers kill -0 but is gone.
alive() {
  local p
  for p in "$@"; do
    case "$(ps -o stat= -p "$p" 2>/dev/null)" in ''|Z*) ;; *) return 0 ;; esac
  done
  return 1
}

running() { [ -f "$RUN/$1.pid" ] && alive "$(cat "$RUN/$1.pid")"; }

launch() {  # name, command...
  local name=$1; shift
  if running "$name"; then echo "$name: already running (pid $(cat "$RUN/$name.pid"))"; return; fi
  # With mail, $RUN is searchable by others (see mail_start): the logs are owner-only.
  [ "$MAIL_MODE" != 1 ] || { : >"$RUN/$name.log"; chmod 600 "$RUN/$name.log"; }
  setsid "$@" >"$RUN/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/$name.pid"
  echo "$name: started (pid $!, log $RUN/$name.log)"
}

wait_for() {  # url, seconds
  for _ in $(seq 1 $(( $2 * 4 ))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.25
  done
  echo "no answer from $1 after $2 s" >&2; return 1
}

wait_for_port() {  # port, seconds (a service that is not HTTP: SMTP, IMAP)
  for _ in $(seq 1 $(( $2 * 4 ))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.25
  done
  echo "nothing listens on 127.0.0.1:$1 after $2 s" >&2; return 1
}

check_mode() {  # a running worker keeps the settings it started with: switching MAIL=1 on or off needs a stop
  running worker || { rm -f "$MAIL_ENV"; return 0; }
  local was=""; [ -f "$MAIL_ENV" ] && was=1
  [ "$was" = "$MAIL_MODE" ] && return 0
  echo "the running services were started $([ -n "$was" ] && echo with || echo without) TENKEN_DEMO_MAIL=1:" \
       "run 'make stop' (scripts/stack.sh stop) first" >&2
  return 1
}

mail_start() {  # TENKEN_DEMO_MAIL=1: departments split between Slack and mail
  # The plan folder of every service and the driver: the example (or TENKEN_CONFIG_DIR's) with every 3rd
  # department on `via: email`.
  local source=${TENKEN_CONFIG_DIR:-$("$BIN/python" -c 'from tenken.resources import EXAMPLE_CONFIG; print(EXAMPLE_CONFIG)')}
  "$BIN/python" -m tenken_demo.mail_demo config "$source" "$RUN/config"
  export TENKEN_CONFIG_DIR=$RUN/config
  if [ ! -s "$MAIL_LOGIN" ]; then  # the office mailbox's login (SMTP and IMAP), owner-only like prefect-auth
    (umask 077; echo "tenken:$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(18))')" >"$MAIL_LOGIN")
  fi
  if ! running imap && ! running smtp; then rm -rf "$MAIL_ROOT"; fi  # each stack starts with empty mailboxes
  if [ "$(id -u)" = 0 ]; then
    # Dovecot runs no mail process as root: the mail belongs to Debian's `mail` user, which must reach
    # $MAIL_ROOT through $RUN (search only; what $RUN holds stays owner-only).
    chmod 711 "$RUN"
    [ ! -d "$RUN/prefect" ] || chmod 700 "$RUN/prefect"
  fi
  # dovecot makes $MAIL_ROOT (owned by the mail user) with the office's mailbox, $MAIL_ROOT/tenken/Maildir.
  launch imap "$BIN/python" -m tenken_demo.imap_server --port "$IMAP_PORT" --root "$MAIL_ROOT" --user-file "$MAIL_LOGIN"
  wait_for_port "$IMAP_PORT" 20
  # The stand-in writes every recipient's mail to $MAIL_ROOT/<local part>/Maildir (owner-only files).
  (umask 077; launch smtp "$BIN/python" -m tenken_demo.mail_standin --port "$SMTP_PORT" --maildirs "$MAIL_ROOT" \
    --login-file "$MAIL_LOGIN")
  wait_for_port "$SMTP_PORT" 20
  running imap && running smtp || { tail -n 20 "$RUN/imap.log" "$RUN/smtp.log" >&2; return 1; }
  # tenken's settings for the office's mailbox (the worker's, and the driver's: make demo sources this file).
  cat >"$MAIL_ENV" <<EOF
TENKEN_CONFIG_DIR='$RUN/config'
TENKEN_DEMO_MAILDIRS='$MAIL_ROOT'
TENKEN_MAIL_ADDRESS=tenken@example.jp
TENKEN_MAIL_USER=tenken
TENKEN_SMTP_HOST=127.0.0.1
TENKEN_SMTP_PORT=$SMTP_PORT
TENKEN_SMTP_SECURITY=none
TENKEN_IMAP_HOST=127.0.0.1
TENKEN_IMAP_PORT=$IMAP_PORT
TENKEN_IMAP_SECURITY=none
EOF
  set -a; . "$MAIL_ENV"; set +a
  TENKEN_MAIL_PASSWORD=$(cut -d: -f2- "$MAIL_LOGIN")
  export TENKEN_MAIL_PASSWORD
  echo "mail: SMTP stand-in 127.0.0.1:$SMTP_PORT and IMAP (dovecot) 127.0.0.1:$IMAP_PORT, office mailbox" \
       "tenken@example.jp (login in $MAIL_LOGIN), mailboxes under $MAIL_ROOT; plan folder $RUN/config"
}

credentials() {  # PREFECT_SERVER_API_AUTH_STRING from the environment, else $AUTH_FILE (made on first start)
  if [ -z "${PREFECT_SERVER_API_AUTH_STRING:-}" ]; then
    if [ ! -s "$AUTH_FILE" ]; then
      (umask 077; echo "tenken:$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(24))')" >"$AUTH_FILE")
      echo "Prefect sign-in (shown once, kept owner-only in $AUTH_FILE): $(cat "$AUTH_FILE")"
    else
      echo "Prefect sign-in: the string in $AUTH_FILE"
    fi
    PREFECT_SERVER_API_AUTH_STRING=$(cat "$AUTH_FILE")
  fi
  export PREFECT_SERVER_API_AUTH_STRING PREFECT_API_AUTH_STRING=$PREFECT_SERVER_API_AUTH_STRING
}

start() {
  mkdir -p "$RUN" "$SITE"
  chmod 700 "$RUN"
  check_mode
  credentials
  launch server "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT"
  wait_for "$PREFECT_API_URL/health" 90
  "$BIN/prefect" work-pool inspect tenken >/dev/null 2>&1 || "$BIN/prefect" work-pool create tenken --type process >/dev/null
  # The worker's flow runs and the driver (tenken-demo --deployed) share this var folder and the site.
  if [ "$MAIL_MODE" = 1 ]; then mail_start; fi
  if [ -z "${SLACK_BOT_TOKEN:-}" ]; then
    # No Slack workspace configured: the project's Slack stand-in plays one (channels and people of the
    # plan folder, a clerk per department), and the worker talks to it as it would to Slack.
    # Every plan the server may run: the one of TENKEN_CONFIG_DIR (or the bundled example) and each folder
    # of config/ (deployments.yaml schedules them all), so one stack runs any of them.
    local plans=() folder
    for folder in "${TENKEN_CONFIG_DIR:-}" "$ROOT"/config/*/; do
      [ -n "$folder" ] && [ -f "$folder/plan.yaml" ] && plans+=(--config "$folder")
    done
    launch slack "$BIN/python" -m tenken_demo.slack_standin --port "$SLACK_PORT" "${plans[@]}"
    wait_for "http://127.0.0.1:$SLACK_PORT/api/api.test" 30
    export SLACK_BOT_TOKEN=xoxb-standin-token TENKEN_SLACK_BASE_URL=http://127.0.0.1:$SLACK_PORT/api/
    echo "Slack: stand-in (not Slack) at http://127.0.0.1:$SLACK_PORT/ — set SLACK_BOT_TOKEN to use a real workspace"
  fi
  # Flow runs beat every 30 s (Prefect's minimum; its default is 180): the automation of flows/automations.py
  # marks a run Crashed after three missed beats, so a killed worker is noticed within 90 s.
  export PREFECT_FLOWS_HEARTBEAT_FREQUENCY=${PREFECT_FLOWS_HEARTBEAT_FREQUENCY:-30}
  TENKEN_VAR_DIR=$VAR TENKEN_REVIEW_POLL_SECONDS=${TENKEN_REVIEW_POLL_SECONDS:-2} \
    PREFECT_WORKER_QUERY_SECONDS=1 PREFECT_WORKER_PREFETCH_SECONDS=5 \
    launch worker "$BIN/prefect" worker start --pool tenken --type process --name "tenken-$(hostname)"
  "$BIN/prefect" --no-prompt deploy --prefect-file deployments.yaml --all >"$RUN/deploy.log" 2>&1 \
    || { cat "$RUN/deploy.log" >&2; return 1; }
  echo "deployments: $(grep -c 'View Deployment in UI' "$RUN/deploy.log" || true) deployed (log $RUN/deploy.log)"
  "$BIN/python" -m flows.automations >"$RUN/automations.log" 2>&1 || { cat "$RUN/automations.log" >&2; return 1; }
  echo "automations: $(grep -c '^automation:' "$RUN/automations.log") (flows/automations.py)"
  # Reviewers open drafts here by the signed links their messages carry (cycle.yaml review.site_url).
  TENKEN_VAR_DIR=$VAR launch review "$BIN/python" -m tenken.review_site --host 127.0.0.1 --port "$REVIEW_PORT"
  wait_for "http://127.0.0.1:$REVIEW_PORT/health" 20
  launch site "$BIN/python" -m http.server "$SITE_PORT" --bind 127.0.0.1 --directory "$SITE"
  wait_for "http://127.0.0.1:$SITE_PORT/" 20
  echo "Prefect UI: $PREFECT_UI_URL (sign in with the string above)   review site: http://127.0.0.1:$REVIEW_PORT/" \
       "  site: http://127.0.0.1:$SITE_PORT/"
}

stop() {
  for name in $SERVICES; do
    running "$name" || { rm -f "$RUN/$name.pid"; continue; }
    local pid family; pid=$(cat "$RUN/$name.pid")
    family="$pid $(descendants "$pid" | tr '\n' ' ')"
    kill -TERM -- "-$pid" $family 2>/dev/null || true
    for _ in $(seq 1 40); do alive $family || break; sleep 0.25; done
    alive $family && kill -KILL -- "-$pid" $family 2>/dev/null || true
    sleep 0.2
    if alive $family; then echo "$name: still running after SIGKILL:$family" >&2; continue; fi
    rm -f "$RUN/$name.pid"
    echo "$name: stopped"
  done
  local left=""
  for name in $SERVICES; do [ -f "$RUN/$name.pid" ] && left="$left $name"; done
  [ -z "$left" ] || { echo "still running:$left" >&2; return 1; }
  rm -f "$MAIL_ENV"
  [ ! -d "$RUN" ] || chmod 700 "$RUN"  # searchable by the mail user only while the mail services ran
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
