# The shop's production image: gunicorn serving config.wsgi as a non-root
# user. Build: docker build -t northwind-shop . (docs/deploy.md).
#
# The base is pinned by digest (public.ecr.aws mirrors Docker Hub's official
# image without its pull limits); refresh it with
#   docker buildx imagetools inspect public.ecr.aws/docker/library/python:3.13-slim-bookworm

# ---- build: a virtualenv with the locked runtime dependencies -------------
FROM public.ecr.aws/docker/library/python:3.13-slim-bookworm@sha256:01f42367a0a94ad4bc17111776fd66e3500c1d87c15bbd6055b7371d39c124fb AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
COPY requirements.txt .
# requirements.txt pins everything; the image takes the lines above the
# local AWS stand-in, tests and tooling (moto, pytest, Playwright, CDK).
RUN sed '/^# Local AWS stand-in/,$d' requirements.txt > requirements-runtime.txt \
 && python -m venv /opt/venv \
 && /opt/venv/bin/pip install -r requirements-runtime.txt

# ---- runtime -------------------------------------------------------------
FROM public.ecr.aws/docker/library/python:3.13-slim-bookworm@sha256:01f42367a0a94ad4bc17111776fd66e3500c1d87c15bbd6055b7371d39c124fb AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings \
    PORT=8000 \
    GUNICORN_WORKERS=2 \
    GUNICORN_THREADS=4

RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid shop --home-dir /app --shell /usr/sbin/nologin shop

WORKDIR /app
COPY --from=build /opt/venv /opt/venv
# The code stays root's and read-only to the app; only .local (where
# cognito_bootstrap records the pool's IDs) is the app user's.
COPY . .

# Fingerprinted, compressed static files are part of the image (WhiteNoise's
# manifest must match the code); no secret is needed to collect them.
RUN python manage.py collectstatic --noinput -v0 \
 && chmod 0555 infra/docker/entrypoint.sh \
 && install -d -o shop -g shop /app/.local

USER shop:shop
EXPOSE 8000

# Liveness only: the process answers. Readiness (/healthz: database and
# Redis) is the load balancer's check, so an outage does not kill tasks.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz/live', timeout=3)"]

ENTRYPOINT ["infra/docker/entrypoint.sh"]
CMD ["web"]
