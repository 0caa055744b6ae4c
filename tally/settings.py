"""Tally settings: one file, driven by environment variables, with embedded defaults.

With nothing set Tally runs on SQLite in ./data with Celery tasks executed eagerly
in-process. DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis) switch to the
production shape: separate web, worker and beat processes on any number of hosts.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("TALLY_DATA_DIR", BASE_DIR / "data"))

DEV_SECRET_KEY = "django-insecure-tally-development-only-never-use-in-production"


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean environment variable ("1", "true", "yes", "on" are true)."""
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    """Read a comma-separated environment variable."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def is_strong_secret(key: str) -> bool:
    """Mirror Django's deploy check: long, varied and not a development key."""
    return (
        len(key) >= 50
        and len(set(key)) >= 5
        and not key.startswith("django-insecure")
        and key != DEV_SECRET_KEY
    )


TALLY_ENV = os.environ.get("TALLY_ENV", "development")
DEBUG = env_bool("DJANGO_DEBUG", TALLY_ENV != "production")
SECRET_KEY = os.environ.get("SECRET_KEY", "" if not DEBUG else DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")

if TALLY_ENV == "production" and DEBUG:
    raise ImproperlyConfigured("Refusing to start: TALLY_ENV=production with DJANGO_DEBUG on.")
if not DEBUG:
    if not SECRET_KEY:
        raise ImproperlyConfigured("Refusing to start: DJANGO_DEBUG=0 needs SECRET_KEY set.")
    if not is_strong_secret(SECRET_KEY):
        raise ImproperlyConfigured(
            "Refusing to start: SECRET_KEY is weak (use 50+ random characters, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(64))'`)."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("Refusing to start: DJANGO_DEBUG=0 needs ALLOWED_HOSTS set.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "retro",
    "runbooks",
    "integrations",
    "reports",
    "search",
    "demo",
    "webhooks",
]

MIDDLEWARE = [
    "tally.metrics.RequestMetricsMiddleware",  # first: times everything below it
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tally.middleware.ServiceUnavailableMiddleware",
    "tally.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "tally.middleware.BodyLimitMiddleware",
    "tally.middleware.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "tally.middleware.ViewerTimezoneMiddleware",
    "tally.middleware.MovedMiddleware",
]

ROOT_URLCONF = "tally.urls"
WSGI_APPLICATION = "tally.wsgi.application"
ASGI_APPLICATION = "tally.asgi.application"

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
                "tally.context.site_context",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "tally.sqlite3",
            "OPTIONS": {
                # WAL lets readers work while one writer writes; IMMEDIATE takes the
                # write lock at BEGIN so two writers queue on the busy timeout instead
                # of failing with "database is locked" on lock upgrade.
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
            },
        }
    }
if os.environ.get("TALLY_TEST_DB"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["TALLY_TEST_DB"]}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
# A date-time printed without a filter (the admin) names its zone: tally/formats/en.
FORMAT_MODULE_PATH = ["tally.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("TALLY_MEDIA_ROOT", DATA_DIR / "media"))
MEDIA_URL = "media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security -------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("TALLY_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so an anonymous API call gets 401 with WWW-Authenticate.
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "tally.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "tally.api.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
# /api/schema/ and /api/docs/: open to anyone in development, to signed-in users in production.
TALLY_API_DOCS_PUBLIC = env_bool("TALLY_API_DOCS_PUBLIC", DEBUG)
SPECTACULAR_SETTINGS = {
    "TITLE": "Tally API",
    "DESCRIPTION": "Retrospectives, telemetry and runbooks for live-event streaming operations.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tally.api.mark_optional_fields",
    ],
    # Choice sets sharing a field name with another app's ("format", "state") get their own.
    "ENUM_NAME_OVERRIDES": {
        "WebhookFormatEnum": "webhooks.models.Webhook.Format",
        "DeliveryStateEnum": "webhooks.models.Delivery.State",
    },
}

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
# `manage.py run_embedded` (make run): with no broker configured, the web server and its worker
# process pass task messages through files in the data dir (kombu's filesystem transport), so
# the embedded default runs tasks like production with nothing more to install.
TALLY_EMBEDDED_WORKER = env_bool("TALLY_EMBEDDED_WORKER", False) and not CELERY_BROKER_URL
EMBEDDED_QUEUE_DIR = DATA_DIR / "queue"
if TALLY_EMBEDDED_WORKER:
    CELERY_BROKER_URL = "filesystem://"
QUEUE_PREFIX = os.environ.get("TALLY_QUEUE_PREFIX", "")
QUEUE_DEFAULT = f"{QUEUE_PREFIX}default"
QUEUE_INGEST = f"{QUEUE_PREFIX}ingest"
QUEUE_SLOW = f"{QUEUE_PREFIX}slow"
QUEUE_WEBHOOKS = f"{QUEUE_PREFIX}webhooks"  # outgoing HTTP: a slow receiver waits alone
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = QUEUE_DEFAULT
CELERY_TASK_ROUTES = {
    "integrations.tasks.*": {"queue": QUEUE_INGEST},
    "reports.tasks.render_report": {"queue": QUEUE_SLOW},
    "webhooks.tasks.*": {"queue": QUEUE_WEBHOOKS},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
if TALLY_EMBEDDED_WORKER:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(EMBEDDED_QUEUE_DIR / "messages"),
        "data_folder_out": str(EMBEDDED_QUEUE_DIR / "messages"),
        "control_folder": str(EMBEDDED_QUEUE_DIR / "control"),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE = {
    "sweep-pending-ingest-batches": {
        "task": "integrations.tasks.sweep_pending_batches",
        "schedule": 20.0,
    },
    "detect-silent-feeds": {
        "task": "integrations.tasks.detect_silent_feeds",
        "schedule": 60.0,
    },
    "prune-raw-telemetry": {
        "task": "integrations.tasks.prune_raw_samples",
        "schedule": crontab(minute=17, hour=3),
    },
    "action-due-reminders": {
        "task": "retro.tasks.send_due_reminders",
        "schedule": crontab(minute=5),
    },
    "weekly-overdue-digest": {
        "task": "retro.tasks.send_weekly_digest",
        "schedule": crontab(minute=0, hour=8, day_of_week="mon"),
    },
    "webhooks-announce-actions": {
        "task": "webhooks.tasks.announce_actions",
        "schedule": 300.0,
    },
    "webhooks-resend-stalled": {
        "task": "webhooks.tasks.resend_stalled",
        "schedule": 60.0,
    },
}

# --- Cache (login throttling, shared across web processes) -----------------
CACHE_URL = os.environ.get(
    "CACHE_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""
)
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": f"tally{QUEUE_PREFIX}",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TALLY_LOGIN_MAX_FAILURES = int(os.environ.get("TALLY_LOGIN_MAX_FAILURES", 5))
TALLY_LOGIN_LOCKOUT_SECONDS = int(os.environ.get("TALLY_LOGIN_LOCKOUT_SECONDS", 15 * 60))

# --- Email ----------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tally@localhost")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", 25))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", 30))

# --- Tally ----------------------------------------------------------------
TALLY_BASE_URL = os.environ.get("TALLY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
# Outgoing webhooks (README, Webhooks): destinations on loopback, private, link-local or
# metadata addresses are refused unless listed here (host names or CIDRs, comma-separated).
TALLY_WEBHOOK_ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("TALLY_WEBHOOK_ALLOWED_HOSTS", "").split(",") if h.strip()
]
TALLY_WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("TALLY_WEBHOOK_TIMEOUT_SECONDS", 10))
# Retries back off from the first delay (doubling, at most 30 min apart) for this long; a
# webhook failing that long is disabled and its leads are told.
TALLY_WEBHOOK_RETRY_FIRST_SECONDS = float(os.environ.get("TALLY_WEBHOOK_RETRY_FIRST_SECONDS", 10))
TALLY_WEBHOOK_GIVE_UP_SECONDS = float(os.environ.get("TALLY_WEBHOOK_GIVE_UP_SECONDS", 24 * 3600))
# Slack slash command (/integrations/slack/command/): the app's signing secret.
TALLY_SLACK_SIGNING_SECRET = os.environ.get("TALLY_SLACK_SIGNING_SECRET", "")
TALLY_DEMO_PASSWORD = os.environ.get("TALLY_DEMO_PASSWORD", "tally-demo-2026")
TALLY_INGEST_MAX_BYTES = int(os.environ.get("TALLY_INGEST_MAX_BYTES", 8 * 1024 * 1024))
TALLY_FIREHOSE_MAX_BYTES = int(os.environ.get("TALLY_FIREHOSE_MAX_BYTES", 64 * 1024 * 1024))
TALLY_RAW_RETENTION_DAYS = int(os.environ.get("TALLY_RAW_RETENTION_DAYS", 30))
# Samples more than this many days outside their event's window are rejected per record.
TALLY_INGEST_WINDOW_MARGIN_DAYS = int(os.environ.get("TALLY_INGEST_WINDOW_MARGIN_DAYS", 2))
# How many waiting batches of one stream (event, format, feed) a worker stores in one
# transaction at most, when they queue up (integrations.services.process_waiting_batches).
TALLY_INGEST_GROUP_BATCHES = int(os.environ.get("TALLY_INGEST_GROUP_BATCHES", 16))
# ... and how many bytes of request bodies such a group holds at most (its samples are in memory).
TALLY_INGEST_GROUP_BYTES = int(os.environ.get("TALLY_INGEST_GROUP_BYTES", 8 * 1024 * 1024))
DATA_UPLOAD_MAX_MEMORY_SIZE = TALLY_FIREHOSE_MAX_BYTES + 1024 * 1024
# Body limits per endpoint (tally.middleware.BodyLimitMiddleware), by URL name.
TALLY_REQUEST_MAX_BYTES = int(os.environ.get("TALLY_REQUEST_MAX_BYTES", 2 * 1024 * 1024))
TALLY_UPLOAD_MAX_BYTES = int(os.environ.get("TALLY_UPLOAD_MAX_BYTES", 10 * 1024 * 1024))
TALLY_BODY_LIMITS = {
    "ingest-firehose": TALLY_FIREHOSE_MAX_BYTES,
    **{
        name: TALLY_INGEST_MAX_BYTES
        for name in (
            "ingest-srt",
            "ingest-ffmpeg",
            "ingest-generic",
            "ingest-generic-feed",
            "ingest-eventbridge",
            "ingest-prometheus",
        )
    },
    "event-rundown": TALLY_UPLOAD_MAX_BYTES,
}

# --- Metrics (GET /metrics, tally.metrics) -----------------------------------
# Scrapers send `Authorization: Bearer <token>` (staff sessions work too); unset: staff only.
TALLY_METRICS_TOKEN = os.environ.get("TALLY_METRICS_TOKEN", "")
# With a broker, web and worker processes count at once: prometheus-client's multiprocess mode,
# values in files under this folder. Set before prometheus-client is imported anywhere.
if CELERY_BROKER_URL and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(
        DATA_DIR / "prometheus" / (QUEUE_PREFIX.strip("-") or "default")
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TALLY_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # In-process (eager) tasks would log every task at INFO into the web/command output.
        "celery.app.trace": {"level": "WARNING" if not CELERY_BROKER_URL else "INFO"},
    },
}
