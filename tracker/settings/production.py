"""Production settings: only secure toggles and required secrets on top of base.py.

Every secret without a safe default is read with no default, so a missing variable stops the
process at start-up with ImproperlyConfigured rather than running insecurely.
"""

from django.core.exceptions import ImproperlyConfigured

from .base import *  # noqa: F403
from .base import DATABASES, VISIBILITY_TIMEOUT, env, redis_cache


def _required(*names: str) -> str:
    """The first of ``names`` that is set; stop at start-up, naming them, when none is."""
    for name in names:
        value = env.str(name, default="")
        if value:
            return value
    raise ImproperlyConfigured(f"Set the {' or '.join(names)} environment variable for production.")


DEBUG = False
# The reverse proxies in front of the web processes (their addresses), or "none" when clients
# connect directly: login lockouts and throttles count per client address, so it must be stated.
_proxies = _required("LODESTONE_TRUSTED_PROXIES")
LODESTONE_TRUSTED_PROXIES = [] if _proxies.strip().lower() == "none" else [p.strip() for p in _proxies.split(",")]
SECRET_KEY = _required("DJANGO_SECRET_KEY", "SECRET_KEY")
ALLOWED_HOSTS = [host.strip() for host in _required("DJANGO_ALLOWED_HOSTS", "ALLOWED_HOSTS").split(",") if host.strip()]

# Production runs on PostgreSQL and Redis: no silent fallback to the embedded defaults.
_required("DATABASE_URL")
DATABASES["default"] = {
    **env.db_url("DATABASE_URL"),
    "CONN_MAX_AGE": env.int("DJANGO_CONN_MAX_AGE", default=60),
    "CONN_HEALTH_CHECKS": True,
    "ATOMIC_REQUESTS": False,
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that does not answer makes requests (and /readyz) fail fast rather than hang.
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env.int("DJANGO_DB_CONNECT_TIMEOUT", default=5)
REDIS_URL = _required("REDIS_URL")
CACHES = {"default": redis_cache(REDIS_URL)}
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
# Bounded waits on Redis: a request that queues a refresh while Redis is unreachable is answered
# (503, the run recorded as failed) within seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 3,
    "socket_timeout": 10,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"visibility_timeout": VISIBILITY_TIMEOUT}
CELERY_VISIBILITY_TIMEOUT = VISIBILITY_TIMEOUT
# A worker reserves no more tasks than it has processes free (see base.py).
CELERY_WORKER_DISABLE_PREFETCH = CELERY_BROKER_URL.startswith(("redis://", "rediss://"))

# HTTPS only. The proxy in front terminates TLS and says so in X-Forwarded-Proto; the health
# checks answer plain HTTP too, for load balancers that probe the instance directly.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
# The .gov zone is on the browsers' preload list already; the flag lets a host be listed on its own.
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# Cookies only over HTTPS, for this host alone (the __Host- prefix makes browsers enforce both).
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
