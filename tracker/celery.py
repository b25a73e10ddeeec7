"""Celery application, configured from Django settings (keys prefixed ``CELERY_``)."""

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker.settings.production")

app = Celery("tracker")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _configure_logging(*args, **kwargs):
    """Let Django's LOGGING setting drive the worker's logging instead of Celery's defaults."""
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
