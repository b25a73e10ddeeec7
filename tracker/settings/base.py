"""Settings shared by every environment.

Everything that varies between machines is read from environment variables (see the table in
README.md). Defaults are the embedded ones: a SQLite file and a filesystem message broker under
``var/``, so that a fresh checkout runs with no server. Production (``production.py``) refuses
to start without the secrets that have no safe default.
"""

from datetime import timedelta
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("LODESTONE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    environ.Env.read_env(str(BASE_DIR / ".env"))

# --- Core -------------------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list(
    "DJANGO_ALLOWED_HOSTS", default=env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
)
# SECRET_KEY is set by each environment module: local.py keeps one under var/, production.py
# requires DJANGO_SECRET_KEY.

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True
# ISO dates everywhere (tracker/formats/en/formats.py), whatever the locale would show.
FORMAT_MODULE_PATH = ["tracker.formats"]

DJANGO_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
THIRD_PARTY_APPS = [
    "csp",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "axes",
]
LOCAL_APPS = [
    "portfolio",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "tracker.middleware.RejectNulBytesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Ends a session left idle too long, or open past its absolute limit.
    "tracker.middleware.SessionTimeoutMiddleware",
    # Every page needs a login unless its view is marked login_not_required (the login page).
    "tracker.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Records the request's user on every history row written during the request.
    "simple_history.middleware.HistoryRequestMiddleware",
    # Login lockout (django-axes): answers a locked-out login attempt; kept last, as axes asks.
    "axes.middleware.AxesMiddleware",
]

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
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------

DATABASES: dict[str, dict[str, Any]] = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'lodestone.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: wait for locks instead of failing,
    # and take the write lock at BEGIN so that concurrent writers queue up cleanly.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # The valuations' covering index (date, value) is a PostgreSQL optimisation; SQLite builds it
    # as a plain index on the date, which is all it needs. Said once here rather than at every start.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Cache ------------------------------------------------------------------------------------


def redis_cache(url: str) -> dict:
    """The cache on Redis (django-redis). If Redis cannot be reached, the cache answers as empty
    and logs the error instead of failing the request: pages and API reads go on, only throttle
    and provider-gate counts are not kept meanwhile."""
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "KEY_PREFIX": "lodestone",
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 2,
            "SOCKET_TIMEOUT": 2,
        },
    }


DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Portfolio figures are cached between requests only on a cache that every process shares (Redis):
# a refresh in a worker must retire what the web processes cached. The embedded default's cache is
# per process, so there they are computed on every request.
LODESTONE_CACHE_FIGURES = env.bool("LODESTONE_CACHE_FIGURES", default=bool(REDIS_URL))

# The figures the pages and the API first ask for are worked out again once each change has
# committed, and kept in the database (portfolio.figures_cache.keep): the first request after a
# change reads them. Off, each such request computes them (as the tests inside a transaction do).
LODESTONE_KEEP_FIGURES = env.bool("LODESTONE_KEEP_FIGURES", default=True)

# The cyclic garbage collector's first threshold (Python's default is 700 allocations). A book of a
# date holds a few hundred thousand live objects; at the default, the collections that walk all of
# them run several times a request and take a third of a dashboard's first computation (0.45 s of
# 1.25 s at the benchmark's scale). Figures make no reference cycles worth collecting sooner.
LODESTONE_GC_THRESHOLD = env.int("LODESTONE_GC_THRESHOLD", default=10_000)

# --- Auth -------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes counts failed logins (web, admin and the API token endpoint all call authenticate()).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# --- Sessions and login protection --------------------------------------------------------------

# A session ends after this many minutes without a request, and in any case this many hours
# after login (the cookie's age); closing the browser ends it too.
LODESTONE_SESSION_IDLE_MINUTES = env.int("LODESTONE_SESSION_IDLE_MINUTES", default=60)
SESSION_COOKIE_AGE = env.int("LODESTONE_SESSION_HOURS", default=10) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# After AXES_FAILURE_LIMIT failed logins for one user name from one address, that pair is locked
# out for the cool-off (counted from the last failure). Locking the pair, not the user name alone,
# keeps a stranger from locking staff out by typing their names; a success clears the count.
AXES_FAILURE_LIMIT = env.int("LODESTONE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LODESTONE_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "portfolio.security.lockout_response"
# The client address is the socket's peer; when the peer is one of these reverse proxies, it is
# the nearest address in X-Forwarded-For that is not one of them (read from the right, so a client
# cannot forge it). Production requires the list to be stated (portfolio/security.py client_ip).
LODESTONE_TRUSTED_PROXIES = env.list("LODESTONE_TRUSTED_PROXIES", default=[])
AXES_CLIENT_IP_CALLABLE = "portfolio.security.client_ip"
AXES_VERBOSE = False  # our own log lines (portfolio.security) name the user and address

# --- Content-Security-Policy (django-csp 4) ---------------------------------------------------
# No inline script anywhere: pages load their scripts and styles from our own static files.
from csp.constants import NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

# --- Static files -----------------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Front-end libraries come from the npm registry (package.json, pinned in package-lock.json),
# are installed by the Makefile and served as static files: no page loads anything from outside.
NODE_MODULES = BASE_DIR / "node_modules"
STATICFILES_DIRS = [
    ("vendor/chart.js", NODE_MODULES / "chart.js" / "dist"),
    ("vendor/htmx", NODE_MODULES / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Celery -----------------------------------------------------------------------------------
# https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html

# "localhost" names no server (the transport reads folders); without it kombu logs that none was given.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://localhost/")
# Redis redelivers a message not acknowledged within this many seconds; every time limit and
# retry delay stays below it.
VISIBILITY_TIMEOUT = 3600
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport: messages are files under var/broker/, no server needed.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis redelivers a message that is not acknowledged within the visibility timeout; every
    # task's hard time limit stays below it (see CELERY_TASK_TIME_LIMIT).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT}
    CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT}
    CELERY_VISIBILITY_TIMEOUT = VISIBILITY_TIMEOUT
    # A worker reserves no more tasks than it has processes free: a queued refresh never waits
    # behind a long job while another process is idle (Redis only; other transports ignore it).
    CELERY_WORKER_DISABLE_PREFETCH = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = 86400
CELERY_TASK_SOFT_TIME_LIMIT = 15 * 60
CELERY_TASK_TIME_LIMIT = 20 * 60
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- REST API ---------------------------------------------------------------------------------
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    # Token first, so that an unauthenticated request gets 401 with WWW-Authenticate: Token.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["portfolio.api.permissions.RolePermission"],
    "DEFAULT_PAGINATION_CLASS": "portfolio.api.pagination.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "portfolio.api.filters.StrictOrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "portfolio.api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["portfolio.api.parsers.StrictJSONParser"],
    "DEFAULT_THROTTLE_RATES": {"refresh": "20/hour", "token": "10/minute"},
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}
# Tokens are stored hashed (SHA-512) and expire; a client can hold several.
REST_KNOX = {
    "TOKEN_TTL": timedelta(hours=env.int("LODESTONE_API_TOKEN_HOURS", default=10)),
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": 20,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Lodestone API",
    "DESCRIPTION": "Government stakes in critical-minerals projects: read everything, write what a steward writes, "
    "start refreshes and follow them.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["portfolio.api.permissions.HasARole"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "portfolio.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ShockKindEnum": "portfolio.models.scenarios.ShockKind",
        "ScenarioRunKindEnum": "portfolio.models.scenarios.ScenarioRun.Kind",
    },
}

# --- Application ------------------------------------------------------------------------------

# Contact address sent in the User-Agent of every outside request (SEC EDGAR requires one).
LODESTONE_CONTACT_EMAIL = env.str("LODESTONE_CONTACT_EMAIL", default="ops@example.org")

# Market data. Providers are tried in order, per listing unless the listing names its own.
# "simulated" is deterministic and needs no network; its values are labelled SIMULATED.
LODESTONE_PRICE_PROVIDERS = env.list("LODESTONE_PRICE_PROVIDERS", default=["simulated"])
LODESTONE_FX_PROVIDERS = env.list("LODESTONE_FX_PROVIDERS", default=["simulated"])
# Commodity prices (USD per the commodity's price unit) drive price-floor liabilities.
LODESTONE_COMMODITY_PROVIDERS = env.list("LODESTONE_COMMODITY_PROVIDERS", default=["simulated"])
LODESTONE_ALPHAVANTAGE_API_KEY = env.str("LODESTONE_ALPHAVANTAGE_API_KEY", default="")
# Where the Yahoo chart API answers ({symbol} is filled in): another address serves a mirror, or
# the benchmark's local provider.
LODESTONE_YAHOO_CHART_URL = env.str(
    "LODESTONE_YAHOO_CHART_URL", default="https://query1.finance.yahoo.com/v8/finance/chart/{symbol}"
)
LODESTONE_PRICE_CSV_DIR = env.str("LODESTONE_PRICE_CSV_DIR", default=str(VAR_DIR / "prices"))
LODESTONE_HTTP_CONNECT_TIMEOUT = env.float("LODESTONE_HTTP_CONNECT_TIMEOUT", default=5.0)
LODESTONE_HTTP_READ_TIMEOUT = env.float("LODESTONE_HTTP_READ_TIMEOUT", default=20.0)
# Per-provider rate limit (calls a second) and circuit breaker, shared through the cache.
LODESTONE_PROVIDER_GATES: dict[str, dict[str, Any]] = {  # GatePolicy fields by provider
    "yahoo": {"calls_per_second": 2},
    "alphavantage": {"calls_per_second": 0.2},
    "stooq": {"calls_per_second": 1},
    "boc": {"calls_per_second": 2},
    "ecb": {"calls_per_second": 2},
    "edgar": {"calls_per_second": 10},  # SEC fair-access policy: at most 10 requests a second
    "simulated": {"calls_per_second": 1000},
    "csv": {"calls_per_second": 1000},
}
# A listing whose latest good price is older than this many days is flagged stale.
LODESTONE_STALE_PRICE_DAYS = env.int("LODESTONE_STALE_PRICE_DAYS", default=5)
# Admin uploads of more rows than this are checked and imported by the worker, not within the
# request (and its 60 s limit); the page follows the run until it is done.
LODESTONE_IMPORT_INLINE_ROWS = env.int("LODESTONE_IMPORT_INLINE_ROWS", default=1000)
# A running job (refresh, large import) shows a sign of life this often, from a thread of its
# own; one that shows none for LODESTONE_RUN_STALE_SECONDS (or whose process is gone) is
# abandoned, and the recovery task (every minute) runs its work again.
LODESTONE_HEARTBEAT_SECONDS = env.float("LODESTONE_HEARTBEAT_SECONDS", default=20.0)
LODESTONE_RUN_STALE_SECONDS = env.float("LODESTONE_RUN_STALE_SECONDS", default=180.0)
# ... and uploads the request cannot read within this many seconds (rows count blank ones too).
LODESTONE_IMPORT_INLINE_SECONDS = env.float("LODESTONE_IMPORT_INLINE_SECONDS", default=5.0)
# Days of price history loaded on a listing's first refresh (volatility needs a year).
LODESTONE_PRICE_HISTORY_DAYS = env.int("LODESTONE_PRICE_HISTORY_DAYS", default=400)

# /readyz reports the latest successful valuation refresh as stale past this many hours.
LODESTONE_REFRESH_STALE_HOURS = env.int("LODESTONE_REFRESH_STALE_HOURS", default=36)

# Milestones and filings.
LODESTONE_MILESTONE_AT_RISK_DAYS = env.int("LODESTONE_MILESTONE_AT_RISK_DAYS", default=30)
LODESTONE_LONG_STOP_WARNING_DAYS = env.int("LODESTONE_LONG_STOP_WARNING_DAYS", default=30)
LODESTONE_WATCHED_FORMS = env.list(
    "LODESTONE_WATCHED_FORMS",
    # Schedules 13D/G are filed as "SCHEDULE 13D" (and "/A") since EDGAR's December 2024 release.
    default=[
        "8-K",
        "8-K/A",
        "10-Q",
        "10-K",
        "10-K/A",
        "SC 13D*",
        "SC 13G*",
        "SCHEDULE 13D*",
        "SCHEDULE 13G*",
        "4",
        "424B*",
        "6-K",
    ],
)
# On a company's first check, only filings this recent are queued for review.
LODESTONE_FILINGS_FIRST_LOOKBACK_DAYS = env.int("LODESTONE_FILINGS_FIRST_LOOKBACK_DAYS", default=30)

# E-mail (the daily digest). The console backend prints messages instead of sending them.
# The address staff open the pages at, for the links in e-mails (the digest).
LODESTONE_SITE_URL = env.str("LODESTONE_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default=f"Lodestone <{LODESTONE_CONTACT_EMAIL}>")

# Valuation inputs.
LODESTONE_RISK_FREE_RATE = env.float("LODESTONE_RISK_FREE_RATE", default=0.04)
LODESTONE_VOLATILITY_WINDOW_DAYS = env.int("LODESTONE_VOLATILITY_WINDOW_DAYS", default=365)
LODESTONE_DEFAULT_VOLATILITY = env.float("LODESTONE_DEFAULT_VOLATILITY", default=0.6)

# --- Logging ----------------------------------------------------------------------------------

LOG_LEVEL = env.str("DJANGO_LOG_LEVEL", default="INFO")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "filters": {"quiet_routine_tasks": {"()": "tracker.log_filters.QuietRoutineTasks"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["quiet_routine_tasks"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # urllib3 logs whole request URLs at DEBUG, query strings (and API keys) included.
        "urllib3": {"level": "WARNING"},
        # Logins, failed logins, lockouts and refused requests, with user and address.
        "lodestone.security": {"level": "INFO"},
        "axes": {"level": "WARNING"},  # lodestone.security logs the same events, user names included
    },
}
