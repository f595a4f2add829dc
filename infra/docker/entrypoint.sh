#!/bin/sh
# The image's entrypoint. One process per container, chosen by the first
# argument:
#
#   web              gunicorn (GUNICORN_WORKERS x GUNICORN_THREADS); extra
#                    arguments go to gunicorn. Never migrates.
#   migrate          manage.py migrate: the one-off release task, run before
#                    a deploy's tasks start (docs/deploy.md).
#   publish-static   copy the image's collected static files to the static
#                    bucket (STATIC_BUCKET), which CloudFront serves.
#   manage ARGS      any manage.py command (run_jobs, cognito_bootstrap...).
#
# Outside a container it runs the same way from the checkout (the tests do),
# with PYTHON pointing at the virtualenv's interpreter.
set -eu

APP_DIR=${APP_DIR:-$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)}
PYTHON=${PYTHON:-python}
cd "$APP_DIR"

# With RDS, the database password comes from Secrets Manager as its own
# variable (rotated without a deploy); DATABASE_URL is assembled here.
if [ -z "${DATABASE_URL:-}" ] && [ -n "${DB_HOST:-}" ]; then
  DATABASE_URL=$("$PYTHON" -c '
import os
from urllib.parse import quote
e = os.environ
print("postgres://%s:%s@%s:%s/%s" % (
    quote(e["DB_USER"], safe=""), quote(e["DB_PASSWORD"], safe=""),
    e["DB_HOST"], e.get("DB_PORT", "5432"), e.get("DB_NAME", "shop")))
')
  export DATABASE_URL
fi

# The load balancer's and ECS's health checks address the task by its
# private IP, so that address (from the task metadata) and localhost are
# allowed hosts too.
if [ -n "${ECS_CONTAINER_METADATA_URI_V4:-}" ]; then
  task_ip=$("$PYTHON" -c '
import json, os, urllib.request
meta = json.load(urllib.request.urlopen(os.environ["ECS_CONTAINER_METADATA_URI_V4"], timeout=2))
print(meta["Networks"][0]["IPv4Addresses"][0])
' 2>/dev/null || true)
  DJANGO_ALLOWED_HOSTS="${DJANGO_ALLOWED_HOSTS:-}${DJANGO_ALLOWED_HOSTS:+,}localhost,127.0.0.1${task_ip:+,$task_ip}"
  export DJANGO_ALLOWED_HOSTS
fi

command=${1:-web}
[ "$#" -gt 0 ] && shift

case "$command" in
  web)
    exec "$PYTHON" -m gunicorn config.wsgi \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${GUNICORN_WORKERS:-2}" \
      --threads "${GUNICORN_THREADS:-4}" \
      --worker-tmp-dir /dev/shm \
      --timeout 30 \
      --graceful-timeout 25 \
      --keep-alive 75 \
      --forwarded-allow-ips '*' \
      --access-logfile - \
      "$@"
    ;;
  migrate)
    exec "$PYTHON" manage.py migrate --noinput "$@"
    ;;
  publish-static)
    exec "$PYTHON" infra/docker/publish_static.py "$@"
    ;;
  manage)
    exec "$PYTHON" manage.py "$@"
    ;;
  *)
    echo "entrypoint: unknown command '$command' (web, migrate, publish-static, manage)" >&2
    exit 64
    ;;
esac
