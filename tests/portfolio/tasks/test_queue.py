"""The services queue jobs without importing the tasks: each job reaches the task that the tasks
module registered for it, and a broker that cannot be reached is reported in one way."""

from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError

from portfolio import tasks
from portfolio.exceptions import BrokerUnavailableError
from portfolio.services.queue import Job, enqueue

TASK_OF = {
    Job.REFRESH_RUN: tasks.refresh_run_task,
    Job.IMPORT_CHECK: tasks.import_check_task,
    Job.IMPORT_APPLY: tasks.import_apply_task,
    Job.SCENARIO_RUN: tasks.scenario_run_task,
}


def test_every_job_has_a_task():
    """No job is left without the task that runs it (it would fail only when first queued)."""
    assert set(TASK_OF) == set(Job)


@pytest.mark.parametrize("job", list(Job))
def test_a_job_is_queued_through_its_own_task(job, monkeypatch):
    """Queueing a job hands the run's id to the task registered for that job, and to no other."""
    queued: dict[Job, list[int]] = {each: [] for each in Job}
    for each, task in TASK_OF.items():
        monkeypatch.setattr(task, "delay", queued[each].append)
    enqueue(job, 42)
    assert queued == {each: [42] if each == job else [] for each in Job}


def test_an_unreachable_broker_is_reported_as_broker_unavailable(monkeypatch):
    """Whatever the transport raises when the broker is down becomes BrokerUnavailableError,
    naming the run and keeping the transport's error as its cause."""

    def refuse(run_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(tasks.refresh_run_task, "delay", refuse)
    with pytest.raises(BrokerUnavailableError) as raised:
        enqueue(Job.REFRESH_RUN, 7)
    assert raised.value.extra == {"run": 7}
    assert isinstance(raised.value.__cause__, OperationalError)
