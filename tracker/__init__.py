"""Lodestone project package: settings, URLs and the Celery application."""

# Import the Celery app when Django starts so that @shared_task uses it.
# https://docs.celeryq.dev/en/stable/django/first-steps-with-django.html
from .celery import app as celery_app

__all__ = ("celery_app",)
