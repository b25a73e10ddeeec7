"""Large spreadsheets uploaded in the admin are checked and imported by a real worker, through the
broker; the page follows the run; an unreachable queue refuses the upload, writing nothing."""

from __future__ import annotations

import time
from http import HTTPStatus

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from kombu.exceptions import OperationalError

from portfolio import models as m
from portfolio import tasks
from tests import factories as f
from tracker.celery import app

FLOWS = (
    b"deal,position,kind,occurred_on,amount,currency\n"
    b"acme-dod-2025,Common shares,investment,2025-07-10,400000000.00,USD\n"
    b"acme-dod-2025,Common shares,fee,2025-07-11,125000.00,USD\n"
)


def _position():
    return f.PositionFactory(deal=f.DealFactory(reference="acme-dod-2025"), label="Common shares")


def _upload(client):
    upload = SimpleUploadedFile("cash-flows.csv", FLOWS)
    return client.post(reverse("admin:portfolio_importrun_upload"), {"file": upload})


def _wait_for(run_id: int, status: str, timeout: float = 60.0) -> m.ImportRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = m.ImportRun.objects.get(pk=run_id)
        if not run.in_progress:
            assert run.status == status, (run.status, run.message, run.errors)
            return run
        time.sleep(0.2)
    raise AssertionError(f"import #{run_id} still {run.status} after {timeout} s")


@pytest.fixture
def worker(transactional_db):
    app.control.purge()  # messages other tests queued for runs that no longer exist
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"):
        yield


def test_a_large_upload_is_checked_then_imported_by_the_worker(worker, client, settings):
    """A file over the request's row limit is checked by a real worker through the broker, writing
    nothing; once confirmed, the worker imports it in the steward's name and drops the stored file."""
    settings.LODESTONE_IMPORT_INLINE_ROWS = 1  # a header and two rows: more than the request reads itself
    position = _position()
    steward = f.UserFactory(username="steward", is_staff=True, is_superuser=True)
    client.force_login(steward)

    response = _upload(client)

    run = m.ImportRun.objects.get()
    assert response.status_code == HTTPStatus.FOUND
    checked = _wait_for(run.pk, "previewed")
    assert checked.rows == 2
    assert checked.counts == {"cash-flows": {"created": 2}}
    assert not m.CashFlow.objects.exists()

    client.post(reverse("admin:portfolio_importrun_confirm", args=[run.pk]))

    applied = _wait_for(run.pk, "applied")
    assert applied.content is None
    assert m.CashFlow.objects.filter(position=position).count() == 2
    assert {flow.recorded_by for flow in m.CashFlow.objects.all()} == {steward}


@pytest.mark.django_db
def test_a_run_in_progress_shows_it_and_reloads(steward_client, steward):
    """The page of an import being checked says what the worker is doing, reloads itself every few
    seconds and offers no confirmation yet."""
    run = f.ImportRunFactory(status="checking", requested_by=steward, content=FLOWS, counts={},
                             message="2 rows: the worker is checking the file.")  # fmt: skip
    page = steward_client.get(reverse("admin:portfolio_importrun_change", args=[run.pk])).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in page
    assert "the worker is checking the file. This page reloads" in page
    assert "Confirm: import this file" not in page


@pytest.mark.django_db
def test_an_unreachable_queue_refuses_a_large_upload(steward_client, settings, monkeypatch,
                                                      django_capture_on_commit_callbacks):  # fmt: skip
    """When the task queue cannot be reached, a large upload is recorded as refused with the reason, its
    stored file dropped and nothing written."""
    settings.LODESTONE_IMPORT_INLINE_ROWS = 1
    _position()

    def refuse(run_id):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")

    monkeypatch.setattr(tasks.import_check_task, "delay", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        _upload(steward_client)
    run = m.ImportRun.objects.get()
    assert run.status == "refused"
    assert run.message.startswith("Refused: the task queue could not be reached (OperationalError)")
    assert run.content is None
    assert not m.CashFlow.objects.exists()


@pytest.mark.django_db
def test_a_task_delivered_again_leaves_a_finished_run_as_it_is(steward):
    """A check or import task delivered again for a run already applied leaves the run as it is: nothing
    is imported twice."""
    run = f.ImportRunFactory(status="applied", requested_by=steward, content=None)
    tasks.import_check_task.apply(args=[run.pk])
    tasks.import_apply_task.apply(args=[run.pk])
    run.refresh_from_db()
    assert run.status == "applied"


@pytest.mark.django_db
def test_a_task_that_fails_refuses_its_run(steward):
    """A checking run whose file has vanished (say, a bad row in the database): the task fails and
    the run says so, naming the missing file, rather than staying "being checked" for ever."""
    run = f.ImportRunFactory(status="checking", requested_by=steward, content=None)
    assert tasks.import_check_task.apply(args=[run.pk]).state == "FAILURE"
    run.refresh_from_db()
    assert run.status == "refused"
    assert run.message.startswith(f"Refused: the worker failed (ValueError: import #{run.pk} no longer keeps its file)")
