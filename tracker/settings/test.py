"""Settings for the test suite (pytest --ds=tracker.settings.test).

The database, broker and cache come from the environment like everywhere else, so the same suite
runs on the embedded defaults and, in CI, on PostgreSQL and Redis. Tasks are never run eagerly.
"""

import os
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key


def redis_url_for_worker(url: str, worker: str) -> str:
    """The Redis URL that pytest-xdist worker ``worker`` (gw0, gw1, ...) uses instead of ``url``:
    gw0 keeps the database number, gwN takes the number 2N below it, so that a cache and a broker
    given as two neighbouring databases (CI's 14 and 15) are never shared by two workers. Other
    URLs are returned unchanged."""
    if not worker.startswith("gw") or not url.startswith(("redis://", "rediss://")):
        return url
    parts = urlsplit(url)
    number = int(parts.path.strip("/") or 0) - 2 * int(worker[2:])
    if number < 0:
        raise ImproperlyConfigured(
            f"pytest-xdist worker {worker} would need Redis database {number} for {url}: "
            "configure higher database numbers or run fewer workers"
        )
    return parts._replace(path=f"/{number}").geturl()


# Under pytest-xdist each worker has its own test database (pytest-django names it
# test_<name>_gw0, ...) and, from here, its own Redis databases: every test empties the cache with
# FLUSHDB (tests/conftest.py) and the tests with a real Celery worker purge the broker's queue, so
# on shared databases one worker would wipe another's throttle counts or take its tasks. The
# environment itself is rewritten, before the shared settings read it, because Celery prefers
# CELERY_BROKER_URL from the environment to the setting, and so that a Celery worker a test starts
# inherits the same broker; the marker keeps that process from moving its numbers a second time.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and os.environ.get("LODESTONE_TEST_REDIS_WORKER") != _WORKER:
    for _name in ("REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"):
        if os.environ.get(_name):
            os.environ[_name] = redis_url_for_worker(os.environ[_name], _WORKER)
    os.environ["LODESTONE_TEST_REDIS_WORKER"] = _WORKER

from .base import *  # noqa: E402, F403
from .base import env  # noqa: E402

DEBUG = False
SECRET_KEY = get_random_secret_key()
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A stray .delay() in a test must not reach a real broker unless the run asks for one.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
if CELERY_BROKER_URL.startswith("memory://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
LODESTONE_CACHE_FIGURES = True  # one process: the local cache is shared by all a test does
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The test database is in memory, shared between threads (a worker thread, the live server)
    # through SQLite's shared cache, where a reader's table lock makes a concurrent writer fail at
    # once ("database table is locked") instead of waiting. Readers take no such lock here.
    _options: dict[str, object] = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["init_command"] = f"{_options.get('init_command', '')}PRAGMA read_uncommitted=1;"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
