"""Default periodic tasks, kept in django-celery-beat's tables so operators can edit them."""

from __future__ import annotations

import json
from typing import NamedTuple, TypedDict

from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks


class Crontab(TypedDict):
    """The fields of a django-celery-beat crontab schedule, as its model names them."""

    minute: str
    hour: str
    day_of_week: str
    day_of_month: str
    month_of_year: str


class Schedule(NamedTuple):
    """A periodic task created on migrate unless one of its name exists."""

    name: str
    task: str
    kwargs: dict[str, str]  # the task's keyword arguments, stored as JSON
    crontab: Crontab  # UTC
    expire_seconds: int  # a run not started by then is dropped
    description: str


DEFAULT_SCHEDULES: list[Schedule] = [
    Schedule(
        name="Market data and valuations, daily after the US close",
        task="portfolio.tasks.refresh_scheduled_task",
        kwargs={"kind": "pipeline"},
        # https://crontab.guru/#30_22_*_*_1-5 : 22:30 UTC, after the 16:00 New York close in winter and summer
        crontab={"minute": "30", "hour": "22", "day_of_week": "1-5", "day_of_month": "*", "month_of_year": "*"},
        expire_seconds=6 * 3600,
        description="FX, prices, commodity prices, valuations and the portfolio snapshot.",
    ),
    Schedule(
        name="FX rates, daily",
        task="portfolio.tasks.refresh_scheduled_task",
        kwargs={"kind": "fx"},
        # https://crontab.guru/#0_22_*_*_1-5 : after the Bank of Canada's 16:30 ET publication
        crontab={"minute": "0", "hour": "22", "day_of_week": "1-5", "day_of_month": "*", "month_of_year": "*"},
        expire_seconds=6 * 3600,
        description="USD rates of every currency in use.",
    ),
    Schedule(
        name="Milestone statuses, daily",
        task="portfolio.tasks.refresh_scheduled_task",
        kwargs={"kind": "milestones"},
        # https://crontab.guru/#0_5_*_*_* : before the working day in North America
        crontab={"minute": "0", "hour": "5", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        expire_seconds=12 * 3600,
        description="On track, at risk, late; gates opened by achieved milestones; long-stop dates passed.",
    ),
    Schedule(
        name="SEC filings, hourly",
        task="portfolio.tasks.refresh_scheduled_task",
        kwargs={"kind": "filings"},
        # https://crontab.guru/#15_*_*_*_* : a quarter past every hour
        crontab={"minute": "15", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        expire_seconds=3000,
        description=(
            "For every company with a CIK: its shares outstanding from SEC's XBRL company facts (in the first "
            "run of the day), then new filings of the watched forms, queued for review."
        ),
    ),
    Schedule(
        name="Recover runs whose worker stopped, every minute",
        task="portfolio.tasks.runs_recover_task",
        kwargs={},
        # https://crontab.guru/#*_*_*_*_* : a stopped worker's run is started again within minutes
        crontab={"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        expire_seconds=55,
        description="Refreshes and imports whose worker shows no sign of life are run again.",
    ),
    Schedule(
        name="Daily digest",
        task="portfolio.tasks.digest_send_task",
        kwargs={},
        # https://crontab.guru/#30_5_*_*_* : after the milestone statuses
        crontab={"minute": "30", "hour": "5", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        expire_seconds=12 * 3600,
        description="Status changes, newly late milestones, long-stop dates ahead and filings to review, by e-mail.",
    ),
]


def schedules_ensure(**kwargs) -> int:
    """Create the default periodic tasks that do not exist yet; return how many were created.

    Existing entries (found by name) are left exactly as an operator may have edited them.
    Connected to ``post_migrate`` so it runs after every migrate, and after a test flush.
    """
    created = 0
    for default in DEFAULT_SCHEDULES:
        if PeriodicTask.objects.filter(name=default.name).exists():
            continue
        schedule, _ = CrontabSchedule.objects.get_or_create(**default.crontab, timezone="UTC")
        PeriodicTask.objects.create(
            name=default.name,
            task=default.task,
            kwargs=json.dumps(default.kwargs),
            crontab=schedule,
            expire_seconds=default.expire_seconds,
            description=default.description,
        )
        created += 1
    if created:
        PeriodicTasks.update_changed()
    return created
