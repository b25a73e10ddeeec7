"""Default periodic tasks, kept in django-celery-beat's tables so operators can edit them."""

from __future__ import annotations

import json

from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks

DEFAULT_SCHEDULES = [
    # (name, task, kwargs, crontab fields, expire_seconds, description)
    (
        "Market data and valuations, daily after the US close",
        "portfolio.tasks.refresh_scheduled_task",
        {"kind": "pipeline"},
        # https://crontab.guru/#30_22_*_*_1-5 : 22:30 UTC, after the 16:00 New York close in winter and summer
        {"minute": "30", "hour": "22", "day_of_week": "1-5", "day_of_month": "*", "month_of_year": "*"},
        6 * 3600,
        "FX, prices, commodity prices, valuations and the portfolio snapshot.",
    ),
    (
        "FX rates, daily",
        "portfolio.tasks.refresh_scheduled_task",
        {"kind": "fx"},
        # https://crontab.guru/#0_22_*_*_1-5 : after the Bank of Canada's 16:30 ET publication
        {"minute": "0", "hour": "22", "day_of_week": "1-5", "day_of_month": "*", "month_of_year": "*"},
        6 * 3600,
        "USD rates of every currency in use.",
    ),
    (
        "Milestone statuses, daily",
        "portfolio.tasks.refresh_scheduled_task",
        {"kind": "milestones"},
        # https://crontab.guru/#0_5_*_*_* : before the working day in North America
        {"minute": "0", "hour": "5", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        12 * 3600,
        "On track, at risk, late; gates opened by achieved milestones; long-stop dates passed.",
    ),
    (
        "SEC filings, hourly",
        "portfolio.tasks.refresh_scheduled_task",
        {"kind": "filings"},
        # https://crontab.guru/#15_*_*_*_* : a quarter past every hour
        {"minute": "15", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        3000,
        "New filings of the watched forms for every company with a CIK, queued for review.",
    ),
    (
        "Recover runs whose worker stopped, every minute",
        "portfolio.tasks.runs_recover_task",
        {},
        # https://crontab.guru/#*_*_*_*_* : a stopped worker's run is started again within minutes
        {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        55,
        "Refreshes and imports whose worker shows no sign of life are run again.",
    ),
    (
        "Daily digest",
        "portfolio.tasks.digest_send_task",
        {},
        # https://crontab.guru/#30_5_*_*_* : after the milestone statuses
        {"minute": "30", "hour": "5", "day_of_week": "*", "day_of_month": "*", "month_of_year": "*"},
        12 * 3600,
        "Status changes, newly late milestones, long-stop dates ahead and filings to review, by e-mail.",
    ),
]


def schedules_ensure(**kwargs) -> int:
    """Create the default periodic tasks that do not exist yet; return how many were created.

    Existing entries (found by name) are left exactly as an operator may have edited them.
    Connected to ``post_migrate`` so it runs after every migrate, and after a test flush.
    """
    created = 0
    for name, task, task_kwargs, cron, expire_seconds, description in DEFAULT_SCHEDULES:
        if PeriodicTask.objects.filter(name=name).exists():
            continue
        schedule, _ = CrontabSchedule.objects.get_or_create(**cron, timezone="UTC")
        PeriodicTask.objects.create(
            name=name,
            task=task,
            kwargs=json.dumps(task_kwargs),
            crontab=schedule,
            expire_seconds=expire_seconds,
            description=description,
        )
        created += 1
    if created:
        PeriodicTasks.update_changed()
    return created
