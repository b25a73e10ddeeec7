"""The Celery app is the project's, configured from Django settings (CELERY_ namespace)."""

from django.conf import settings

from tracker import celery_app


def test_celery_app_reads_django_settings():
    """The worker runs the project's Celery app with the broker from Django's settings, JSON only
    (nothing a message could smuggle code through) and UTC times."""
    assert celery_app.main == "tracker"
    assert celery_app.conf.broker_url == settings.CELERY_BROKER_URL
    assert celery_app.conf.accept_content == ["json"]
    assert celery_app.conf.task_serializer == "json"
    assert celery_app.conf.timezone == "UTC"


def test_time_limits_stay_below_the_visibility_timeout():
    """A task still running past the broker's visibility timeout would be delivered twice."""
    soft, hard = celery_app.conf.task_soft_time_limit, celery_app.conf.task_time_limit
    assert 0 < soft < hard < settings.VISIBILITY_TIMEOUT


def test_beat_uses_the_database_scheduler():
    """Beat reads its schedules from the database, so operators edit them in the admin and the edits
    survive restarts."""
    assert celery_app.conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"
