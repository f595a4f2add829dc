"""
Settings for the shop, driven entirely by environment variables.

Production is a set of environment values, not another module: every variable
is listed, with a comment, in `.env.example`.
"""

from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` is read when present; real environment variables win.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# ---------------------------------------------------------------------------
# Core
# ---------------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Without DJANGO_SECRET_KEY, management commands (migrate, makemigrations,
# collectstatic, check) still run on a throwaway key, but serving refuses to
# start unless DEBUG is on (config/wsgi.py, config/asgi.py) and
# `check --deploy` reports it (config/checks.py).
SECRET_KEY_MISSING = not env("DJANGO_SECRET_KEY", default="")
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or "django-insecure-dev-only-key"
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "django.contrib.humanize",
    # Serves the API docs page's Swagger UI from our own static files.
    "ninja",
    "corsheaders",
    # Background tasks (django.tasks) stored in the database: emails, "Run now".
    "django_tasks_db",
    "accounts",
    "shop",
    "analytics",
    "adminpanel",
]

MIDDLEWARE = [
    "config.origin.OriginVerifyMiddleware",
    "config.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "shop.header.HeaderStateMiddleware",
    "analytics.middleware.ClickstreamMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "shop:home"
LOGOUT_REDIRECT_URL = "shop:home"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "shop.context_processors.shop",
            ],
        },
    },
]

# ---------------------------------------------------------------------------
# Database: SQLite is the embedded default; any PostgreSQL URL works as-is,
# including Supabase's pooler (add ?sslmode=require to the URL).
# ---------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Persistent connections buy nothing on SQLite and hold file locks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The web server, the jobs loop and the clickstream flusher all write.
    # WAL lets readers go on beside the one writer; IMMEDIATE takes the write
    # lock at BEGIN, so a transaction waits its turn (up to `timeout`
    # seconds) instead of failing with "database is locked" when it upgrades
    # a read lock mid-way; synchronous=NORMAL is safe under WAL.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
elif env("DATABASE_SSLMODE", default=""):
    DATABASES["default"].setdefault("OPTIONS", {})["sslmode"] = env("DATABASE_SSLMODE")

# ---------------------------------------------------------------------------
# Cache: Redis when REDIS_URL is set, local memory otherwise. Redis sits
# behind a circuit breaker (config/cache.py): after a failure the shop serves
# without it for REDIS_BREAKER_BACKOFF seconds, then probes it in the background.
# ---------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.BreakerRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="shop"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_TIMEOUT", default=0.25),
                "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT", default=0.25),
                "BREAKER_BACKOFF": env.float("REDIS_BREAKER_BACKOFF", default=5.0),
            },
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "shop",
        }
    }

# Versioned catalogue entries and page fragments, per process (see
# shop/cache.py): their keys carry the catalogue version held in "default".
# CATALOGUE_CACHE=false keeps none of them, nor rendered pages: every
# catalogue page is rendered afresh, as after a catalogue change (for
# measuring that cost, bench/uncached.py, or for debugging).
CATALOGUE_CACHE = env.bool("CATALOGUE_CACHE", default=True)
CACHES["catalogue"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "catalogue",
    "OPTIONS": {"MAX_ENTRIES": env.int("CATALOGUE_CACHE_ENTRIES", default=5000)},
}
if not CATALOGUE_CACHE:
    CACHES["catalogue"] = {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}

# Sessions are written to the database and read from the "default" cache,
# which they survive without (config/sessions.py); keys are checked first.
SESSION_ENGINE = "config.sessions"
# Longest a session's copy stays in the cache (the database keeps it for
# SESSION_COOKIE_AGE): bounds what an outage of the cache can leave stale.
SESSION_CACHE_SECONDS = env.int("SESSION_CACHE_SECONDS", default=3600)
SESSION_COOKIE_HTTPONLY = True
# Messages (a line after a redirect) ride in their own cookie, never in the
# session: a cached catalogue page need not read the session to know that
# none is waiting.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# ---------------------------------------------------------------------------
# Security and CloudFront. Forwarded headers are trusted only when told to.
# ---------------------------------------------------------------------------
SECURE_COOKIES = env.bool("DJANGO_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False
)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("DJANGO_TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
USE_X_FORWARDED_HOST = env.bool("DJANGO_USE_X_FORWARDED_HOST", default=False)
# The secret header CloudFront adds (X-Origin-Verify): when set, requests
# without it are refused, so only CloudFront reaches the app (config/origin.py).
DJANGO_ORIGIN_SECRET = env("DJANGO_ORIGIN_SECRET", default="")
# Sources added to the Content-Security-Policy (e.g. a media CDN host).
CSP_EXTRA_IMG_SRC = env.list("CSP_EXTRA_IMG_SRC", default=[])

# ---------------------------------------------------------------------------
# Client IP behind proxies (config/net.py): how many proxies in front of the
# app append to X-Forwarded-For (CloudFront + ALB = 2). 0 trusts none.
# ---------------------------------------------------------------------------
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# ---------------------------------------------------------------------------
# Internationalisation and the shop
# ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = env("TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

SHOP_NAME = env("SHOP_NAME", default="Northwind Goods")
SHOP_CURRENCY = env("SHOP_CURRENCY", default="GBP")
# Flat shipping rates: code -> (label, price).
SHOP_SHIPPING_METHODS = {
    "standard": (
        "Standard delivery (3-5 days)",
        Decimal(env("SHIPPING_STANDARD", default="4.95")),
    ),
    "express": (
        "Express delivery (next day)",
        Decimal(env("SHIPPING_EXPRESS", default="9.95")),
    ),
}

# ---------------------------------------------------------------------------
# Stripe (card payments, docs/payments.md). On when STRIPE_SECRET_KEY is set;
# `make run` points it at localstripe, the local stand-in, through
# STRIPE_API_BASE and STRIPE_JS_URL.
# ---------------------------------------------------------------------------
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="https://api.stripe.com")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
# Seconds a webhook's signature timestamp may be old (Stripe's default).
STRIPE_WEBHOOK_TOLERANCE = env.int("STRIPE_WEBHOOK_TOLERANCE", default=300)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=10.0)
# Where `manage.py stripe_local` (so `make run`) starts localstripe.
STRIPE_LOCAL_PORT = env.int("STRIPE_LOCAL_PORT", default=8420)
# Minutes a card order holds its stock while the shopper pays.
SHOP_PAYMENT_HOLD_MINUTES = env.int("SHOP_PAYMENT_HOLD_MINUTES", default=15)
SHOP_PAYMENT_PROVIDERS = env.list(
    "SHOP_PAYMENT_PROVIDERS",
    default=["shop.payments.CashOnDelivery"]
    + (["shop.stripe_gateway.StripeProvider"] if STRIPE_SECRET_KEY else []),
)
# Carriers for shipped orders: code -> (name, tracking link with {tracking}).
SHOP_CARRIERS = {
    "royal-mail": (
        "Royal Mail",
        "https://www.royalmail.com/track-your-item#/tracking-results/{tracking}",
    ),
    "dpd": ("DPD", "https://track.dpd.co.uk/parcels/{tracking}"),
    "evri": ("Evri", "https://www.evri.com/track/parcel/{tracking}"),
}
SHOP_PAGE_SIZE = 24
SHOP_LOW_STOCK = env.int("SHOP_LOW_STOCK", default=5)
SHOP_CACHE_SECONDS = env.int("SHOP_CACHE_SECONDS", default=300)
# Past its time, a catalogue entry or page is served for up to this many
# seconds more to the requests that arrive while one request renders it
# again (shop/cache.py), so they do not all render it at once.
SHOP_CACHE_STALE_SECONDS = env.int("SHOP_CACHE_STALE_SECONDS", default=60)
# Size of each process's store of rendered catalogue pages (shop/pagecache.py);
# 0 keeps none.
SHOP_PAGE_CACHE_BYTES = env.int(
    "SHOP_PAGE_CACHE_BYTES", default=32 * 1024 * 1024 if CATALOGUE_CACHE else 0
)
# How often (seconds) a process re-reads the catalogue version from Redis:
# another process's catalogue change shows within this time.
CATALOGUE_VERSION_TTL = env.float("CATALOGUE_VERSION_TTL", default=1.0)

# ---------------------------------------------------------------------------
# Background tasks (django.tasks): the database backend, run by
# `manage.py db_worker` beside the web server (`make run`) or as its own
# service in production. Emails are retried after these delays (seconds).
# ---------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", default="django_tasks_db.DatabaseBackend")
    }
}
SHOP_EMAIL_RETRY_DELAYS = [
    int(s) for s in env.list("SHOP_EMAIL_RETRY_DELAYS", default=["60", "300", "1800"])
]

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="shop@example.com")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Outgoing mail (Django 6.1 MAILERS): the console in development, SMTP
# when EMAIL_HOST is set.
_email_host = env("EMAIL_HOST", default="")
if _email_host:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": env.int("EMAIL_PORT", default=587),
                "username": env("EMAIL_HOST_USER", default=""),
                "password": env("EMAIL_HOST_PASSWORD", default=""),
                "use_tls": env.bool("EMAIL_USE_TLS", default=True),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}

# ---------------------------------------------------------------------------
# AWS: one endpoint override (AWS_ENDPOINT_URL) reaches LocalStack, moto's
# server or, when unset, real AWS. See config/aws.py.
# ---------------------------------------------------------------------------
AWS_REGION = env("AWS_REGION", default=env("AWS_DEFAULT_REGION", default="eu-west-2"))
AWS_ENDPOINT_URL = env("AWS_ENDPOINT_URL", default="")
# Port of the local AWS stand-in that `make run` starts when no endpoint is set.
AWS_LOCAL_PORT = env.int("AWS_LOCAL_PORT", default=5005)
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_ARCHIVE_BUCKET = env("AWS_ARCHIVE_BUCKET", default="shop-archive")
AWS_ARCHIVE_PREFIX = env("AWS_ARCHIVE_PREFIX", default="archive")

# ---------------------------------------------------------------------------
# Static and media
# ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = env("MEDIA_URL", default="/media/")
MEDIA_ROOT = BASE_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": AWS_REGION,
            "endpoint_url": AWS_ENDPOINT_URL or None,
            "custom_domain": env("AWS_S3_CUSTOM_DOMAIN", default="") or None,
            # A key prefix, e.g. "media", where CloudFront's /media/* looks.
            "location": env("AWS_S3_LOCATION", default=""),
            "querystring_auth": False,
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "max-age=86400"},
        },
    }
WHITENOISE_MAX_AGE = 31536000 if not DEBUG else 0

# ---------------------------------------------------------------------------
# Cognito (accounts issue)
# ---------------------------------------------------------------------------
COGNITO_USER_POOL_ID = env("COGNITO_USER_POOL_ID", default="")
COGNITO_CLIENT_ID = env("COGNITO_CLIENT_ID", default="")
COGNITO_CLIENT_SECRET = env("COGNITO_CLIENT_SECRET", default="")
COGNITO_DOMAIN = env("COGNITO_DOMAIN", default="")
COGNITO_STAFF_GROUP = env("COGNITO_STAFF_GROUP", default="staff")
COGNITO_ADMIN_GROUP = env("COGNITO_ADMIN_GROUP", default="admin")
# What a Cognito group may do in Django admin: a Django group of the same name
# holding these permissions ("app_label.codename"), kept in line at each
# sign-in. The admin group is superuser and needs none.
COGNITO_GROUP_PERMISSIONS = {
    COGNITO_STAFF_GROUP: [
        f"shop.{action}_{model}"
        for model in ["category", "product", "productvariant", "productimage"]
        for action in ["view", "add", "change", "delete"]
    ]
    + ["shop.view_order", "shop.change_order", "shop.view_orderline"],
}
COGNITO_TIMEOUT = env.float("COGNITO_TIMEOUT", default=3.0)
# Where `cognito_bootstrap` records the IDs of a locally provisioned pool.
COGNITO_LOCAL_CONFIG = BASE_DIR / ".local" / "cognito.json"
# Where it keeps the demo accounts' passwords, the same on every run.
COGNITO_DEMO_PASSWORDS = BASE_DIR / ".local" / "demo-passwords.json"
# Only when the token issuer differs from Cognito's (LocalStack).
COGNITO_ISSUER = env("COGNITO_ISSUER", default="")
# The hosted UI's callback; defaults to SITE_URL + /accounts/hosted/callback/.
COGNITO_REDIRECT_URI = env("COGNITO_REDIRECT_URI", default="")
# Names `cognito_bootstrap` gives the pool and app client it provisions.
COGNITO_POOL_NAME = env("COGNITO_POOL_NAME", default="northwind-shop")
COGNITO_CLIENT_NAME = env("COGNITO_CLIENT_NAME", default="northwind-web")
# Sign-in limits (accounts/services.py): attempts per window (seconds) from
# one client IP; failures per window at one account, from any addresses; and
# failures of one address at one account before each further one doubles its
# wait, up to ACCOUNTS_SIGNIN_MAX_DELAY seconds. No hard lock a stranger can
# set off: the owner signing in from elsewhere is never held back.
ACCOUNTS_SIGNIN_IP_LIMIT = env.int("ACCOUNTS_SIGNIN_IP_LIMIT", default=30)
ACCOUNTS_SIGNIN_ACCOUNT_LIMIT = env.int("ACCOUNTS_SIGNIN_ACCOUNT_LIMIT", default=100)
ACCOUNTS_SIGNIN_WINDOW = env.int("ACCOUNTS_SIGNIN_WINDOW", default=900)
ACCOUNTS_SIGNIN_FREE_FAILURES = env.int("ACCOUNTS_SIGNIN_FREE_FAILURES", default=3)
ACCOUNTS_SIGNIN_MAX_DELAY = env.int("ACCOUNTS_SIGNIN_MAX_DELAY", default=900)
# Cognito first; the local password backend stays for break-glass superusers.
AUTHENTICATION_BACKENDS = [
    "accounts.backends.CognitoBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Refreshes Cognito tokens kept in the session, re-syncing groups.
MIDDLEWARE += ["accounts.middleware.CognitoSessionMiddleware"]

# ---------------------------------------------------------------------------
# Analytics (clickstream issue)
# ---------------------------------------------------------------------------
ANALYTICS_ENABLED = env.bool("ANALYTICS_ENABLED", default=True)
ANALYTICS_SINKS = env.list("ANALYTICS_SINKS", default=["analytics.sinks.DatabaseSink"])
ANALYTICS_BUFFER_SIZE = env.int("ANALYTICS_BUFFER_SIZE", default=20000)
ANALYTICS_BATCH_SIZE = env.int("ANALYTICS_BATCH_SIZE", default=1000)
ANALYTICS_FLUSH_INTERVAL = env.float("ANALYTICS_FLUSH_INTERVAL", default=2.0)
ANALYTICS_BACKGROUND_FLUSH = env.bool("ANALYTICS_BACKGROUND_FLUSH", default=True)
ANALYTICS_SINK_TIMEOUT = env.float("ANALYTICS_SINK_TIMEOUT", default=5.0)
# Where events a sink could not take at shutdown wait for the next start.
ANALYTICS_SPILL_DIR = env("ANALYTICS_SPILL_DIR", default=str(BASE_DIR / ".local" / "analytics-spill"))
# Visitors who send DNT/GPC or decline consent: "hash" (daily-rotating
# salted hash, no cookie) or "off" (not tracked at all).
ANALYTICS_PRIVATE_MODE = env("ANALYTICS_PRIVATE_MODE", default="hash")
ANALYTICS_REQUIRE_CONSENT = env.bool("ANALYTICS_REQUIRE_CONSENT", default=True)
ANALYTICS_COOKIE_AGE = env.int("ANALYTICS_COOKIE_AGE", default=365 * 24 * 3600)
ANALYTICS_SESSION_TIMEOUT = env.int("ANALYTICS_SESSION_TIMEOUT", default=1800)
ANALYTICS_SENSITIVE_PARAMS = env.list(
    "ANALYTICS_SENSITIVE_PARAMS",
    default=[
        "email",
        "token",
        "password",
        "code",
        "key",
        "secret",
        "session",
        "auth",
        "signature",
        "phone",
        "state",
        "access_token",
        "id_token",
    ],
)
ANALYTICS_SKIP_PREFIXES = env.list(
    "ANALYTICS_SKIP_PREFIXES",
    default=[
        "/admin/",
        "/healthz",
        "/analytics/",
        "/favicon",
        "/robots.txt",
        "/sitemap",
    ],
)
ANALYTICS_COLLECT_RATE = env.int("ANALYTICS_COLLECT_RATE", default=120)
ANALYTICS_COLLECT_MAX_AGE = env.int("ANALYTICS_COLLECT_MAX_AGE", default=48 * 3600)
ANALYTICS_S3_BUCKET = env("ANALYTICS_S3_BUCKET", default="shop-clickstream")
ANALYTICS_S3_PREFIX = env("ANALYTICS_S3_PREFIX", default="clickstream")
ANALYTICS_FIREHOSE_STREAM = env("ANALYTICS_FIREHOSE_STREAM", default="shop-clickstream")
ANALYTICS_FIREHOSE_RETRIES = env.int("ANALYTICS_FIREHOSE_RETRIES", default=3)
ANALYTICS_ROLLUP_LOOKBACK_HOURS = env.int("ANALYTICS_ROLLUP_LOOKBACK_HOURS", default=3)

# ---------------------------------------------------------------------------
# JSON API (shop/api/, docs/api.md). CORS only for the origins listed (a
# frontend on another domain, e.g. Amplify); never a wildcard. Bearer tokens
# need no cookies, so credentials stay off unless asked for.
# ---------------------------------------------------------------------------
CORS_ALLOWED_ORIGINS = [
    o for o in env.list("CORS_ALLOWED_ORIGINS", default=[]) if o != "*"
]
CORS_ALLOW_CREDENTIALS = env.bool("CORS_ALLOW_CREDENTIALS", default=False)
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "if-none-match",
    "idempotency-key",
    "x-cart-token",
    "x-csrftoken",
]
CORS_EXPOSE_HEADERS = ["etag", "retry-after"]
CORS_PREFLIGHT_MAX_AGE = 3600

# ---------------------------------------------------------------------------
# Data operations: catalogue import, S3 archive, periodic jobs (run_jobs).
# Each job: dotted path of a callable returning counts, interval in seconds,
# and its default switch (operators may flip it; the choice is kept in the DB).
# ---------------------------------------------------------------------------
PERIODIC_JOBS = {
    "payment_holds": {
        "task": "adminpanel.jobs.payment_holds_task",
        "interval": env.int("JOB_PAYMENT_HOLDS_INTERVAL", default=60),
        "enabled": env.bool("JOB_PAYMENT_HOLDS_ENABLED", default=True),
    },
    "analytics_rollup": {
        "task": "adminpanel.jobs.analytics_rollup_task",
        "interval": env.int("JOB_ANALYTICS_ROLLUP_INTERVAL", default=60),
        "enabled": env.bool("JOB_ANALYTICS_ROLLUP_ENABLED", default=True),
    },
    "refresh_customer_stats": {
        "task": "adminpanel.customer_stats.customer_stats_refresh",
        "interval": env.int("JOB_CUSTOMER_STATS_INTERVAL", default=600),
        "enabled": env.bool("JOB_CUSTOMER_STATS_ENABLED", default=True),
    },
    "archive_to_s3": {
        "task": "adminpanel.jobs.archive_task",
        "interval": env.int("JOB_ARCHIVE_INTERVAL", default=300),
        "enabled": env.bool("JOB_ARCHIVE_ENABLED", default=False),
    },
}
# Files at least this large go to S3 in multipart uploads of this part size.
ARCHIVE_MULTIPART_THRESHOLD = env.int(
    "ARCHIVE_MULTIPART_THRESHOLD", default=64 * 1024 * 1024
)
ARCHIVE_MULTIPART_CHUNK = env.int("ARCHIVE_MULTIPART_CHUNK", default=16 * 1024 * 1024)
# The Glue database `athena_ddl` creates the archive's tables in.
ATHENA_DATABASE = env("ATHENA_DATABASE", default="shop_archive")

# ---------------------------------------------------------------------------
# Logging: to stderr, never passwords or tokens.
# ---------------------------------------------------------------------------
# LOG_FORMAT=json writes one JSON object a line with the request's ID, for
# CloudWatch Logs Insights; "plain" suits a terminal.
LOG_FORMAT = env("LOG_FORMAT", default="plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.requestlog.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    # stripe logs every API request at INFO; one line a request is enough
    # on a terminal, where runserver logs them already.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "stripe": {"level": "WARNING"},
        "config.requests": {
            "level": env(
                "LOG_REQUESTS_LEVEL",
                default="INFO" if LOG_FORMAT == "json" else "WARNING",
            )
        },
    },
}
