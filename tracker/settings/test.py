"""Settings for the test suite (pytest --ds=tracker.settings.test).

The database, broker and cache come from the environment like everywhere else, so the same suite
runs on the embedded defaults and, in CI, on PostgreSQL and Redis. Tasks are never run eagerly.
"""

from django.core.management.utils import get_random_secret_key

from .base import *  # noqa: F403
from .base import env

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
