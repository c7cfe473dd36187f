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
SERVICES="site review worker slack server"

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
  credentials
  launch server "$BIN/prefect" server start --host 127.0.0.1 --port "$PORT"
  wait_for "$PREFECT_API_URL/health" 90
  "$BIN/prefect" work-pool inspect tenken >/dev/null 2>&1 || "$BIN/prefect" work-pool create tenken --type process >/dev/null
  # The worker's flow runs and the driver (tenken-demo --deployed) share this var folder and the site.
  if [ -z "${SLACK_BOT_TOKEN:-}" ]; then
    # No Slack workspace configured: the project's Slack stand-in plays one (channels and people of the
    # plan folder, a clerk per department), and the worker talks to it as it would to Slack.
    launch slack "$BIN/python" -m tenken_demo.slack_standin --port "$SLACK_PORT" \
      ${TENKEN_CONFIG_DIR:+--config "$TENKEN_CONFIG_DIR"}
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
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
