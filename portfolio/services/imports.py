"""Spreadsheet imports: check a file, then import it, all or nothing, through the records service.

A check (dry run) does everything an import does, validation and history included, inside a
transaction that is then rolled back: its report (created, updated and unchanged rows per kind,
and every row error with its sheet, row, column and reason) is exactly what the import will do.
An import writes only if no row has an error; otherwise nothing at all is written. Rows are
matched by natural key, and an unchanged row is not saved, so importing the same file twice
changes nothing the second time. Every created or updated record is saved by
``services.records.record_save``, with the steward's name and the import in its history. Each
check and import is recorded as an :class:`~portfolio.models.ImportRun` with the file's name,
hash and counts. When an import changes what valuations depend on (positions, cash flows, marks,
prices, loans and their drawings, floors or the production they pay on), a valuation refresh is
requested once it commits.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter, defaultdict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from portfolio.exceptions import BrokerUnavailableError, ImportRefusedError, RefreshRefusedError
from portfolio.models import ImportRun, RefreshRun, SecurityPrice
from portfolio.spreadsheets.cells import CellError, parse_cell
from portfolio.spreadsheets.files import FileRefused, Limits, OverInlineLimits, RowError, Sheet, Upload, read_upload
from portfolio.spreadsheets.kinds import NAMED_BY_ROWS, Kind, References, natural_key

from . import kept_ledgers
from .liveness import abandoned, heartbeat, held_elsewhere, stale_before, this_worker
from .market_data import listing_price_status_refresh
from .queue import Job, enqueue
from .records import record_save
from .refresh import refresh_start

logger = logging.getLogger(__name__)

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"
MAX_FILE_BYTES = 20 * 2**20
#: Kinds whose changes alter valuations: an import that touches them requests a refresh.
REVALUING = {"positions", "cash-flows", "manual-marks", "prices", "loans", "loan-events", "price-floors",
             "production-figures"}  # fmt: skip
#: Rows listed in a run's ``changes`` (the counts cover every row).
MAX_LISTED_CHANGES = 2000


@dataclass
class Outcome:
    """What going through a file did, or would do."""

    counts: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[RowError] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    revalue: bool = False


def _reason(run: ImportRun) -> str:
    """The history's change reason (at most 100 characters, the history table's limit)."""
    prefix = f"Import #{run.pk}: "
    return prefix + run.file_name[: 100 - len(prefix)]


def _permission_errors(user, upload: Upload) -> list[str]:
    if not user.has_perm("portfolio.import_spreadsheet"):
        return ["you may not import spreadsheets"]
    missing = []
    for sheet in upload.sheets:
        name = sheet.kind.model._meta.model_name
        if not (user.has_perm(f"portfolio.add_{name}") and user.has_perm(f"portfolio.change_{name}")):
            missing.append(sheet.kind.name)
    return [f"your role may not add or change {', '.join(missing)}"] if missing else []


class _Importer:
    def __init__(self, *, user, reason: str) -> None:
        self.user = user
        self.reason = reason
        self.refs = References()
        self.outcome = Outcome()
        self.done = 0  # rows gone through, read by the heartbeat thread as the run's progress
        self.priced_listings: set[int] = set()  # listings given a price, whose status is derived at the end

    def sheet(self, sheet: Sheet) -> None:
        kind, present = sheet.kind, set(sheet.headers)
        seen: dict[tuple, int] = {}
        for number, row in sheet.rows:
            self.row(kind, sheet.name, number, row, present, seen)
            self.done += 1

    def _error(self, sheet: str, number: int, column: str, message: str) -> None:
        self.outcome.errors.append(RowError(sheet, number, column, message))

    def row(self, kind: Kind, sheet: str, number: int, row: dict[str, Any], present: set[str], seen: dict) -> None:
        candidate = kind.new()
        values: dict[str, Any] = {}  # attname -> value, for the columns the file has
        failed = False
        for name in kind.plain:
            if name not in present:
                continue
            model_field = kind.model_field(name)
            try:
                values[model_field.attname] = parse_cell(model_field, row.get(name))
            except CellError as exc:
                self._error(sheet, number, name, str(exc))
                failed = True
        for ref in kind.refs:
            if not present.intersection(ref.columns):
                continue
            try:
                target = ref.resolve(self.refs, row)
            except CellError as exc:
                self._error(sheet, number, exc.column or ref.columns[0], str(exc))
                failed = True
                continue
            values[kind.model_field(ref.field).attname] = None if target is None else target.pk
            setattr(candidate, ref.field, target)
        if failed:
            return
        for attname, value in values.items():
            setattr(candidate, attname, value)
        key = natural_key(candidate)
        if key in seen:
            self._error(sheet, number, kind.key[-1], f"the same record as row {seen[key]} ({', '.join(kind.key)})")
            return
        seen[key] = number
        existing = self.refs.find(kind.model, key)
        instance, changed = candidate, list(values)
        if existing is not None:
            instance = existing
            changed = [name for name, value in values.items() if not _same(getattr(existing, name), value)]
            for name in changed:
                setattr(existing, name, values[name])
        many = self._many(kind, sheet, number, row, present, instance)
        if many is None:
            return
        action = CREATED if existing is None else UPDATED if changed or many else UNCHANGED
        correction = False
        if "status_correction" in kind.options and "status_correction" in present:
            try:
                correction = bool(parse_cell(models.BooleanField(), row.get("status_correction")))
            except CellError as exc:
                self._error(sheet, number, "status_correction", str(exc))
                return
        if action != UNCHANGED:
            if not self._save(kind, sheet, number, instance, many, status_correction=correction):
                if existing is not None:
                    existing.refresh_from_db()  # the index must not hold values that were refused
                return
            if kind.model in NAMED_BY_ROWS:
                self.refs.add(instance)
            if len(self.outcome.changes) < MAX_LISTED_CHANGES:
                self.outcome.changes.append(
                    {"sheet": sheet, "row": number, "action": action, "record": str(instance)[:200],
                     "columns": sorted(_columns(kind, changed, many)) if action == UPDATED else []}
                )  # fmt: skip
            if kind.name in REVALUING:
                self.outcome.revalue = True
        self.outcome.counts[kind.name][action] += 1

    def _many(self, kind, sheet, number, row, present, instance) -> dict[str, list] | None:
        """The many-to-many columns that change, with their records; None after an error."""
        changed: dict[str, list] = {}
        for many in kind.many:
            if many.column not in present:
                continue
            try:
                targets = many.resolve(self.refs, row, instance)
            except CellError as exc:
                self._error(sheet, number, many.column, str(exc))
                return None
            current = set() if instance.pk is None else {t.pk for t in getattr(instance, many.field).all()}
            if {t.pk for t in targets} != current:
                changed[many.field] = targets
        return changed

    def _save(
        self,
        kind: Kind,
        sheet: str,
        number: int,
        instance: models.Model,
        many: dict[str, list],
        *,
        status_correction: bool = False,
    ) -> bool:
        # The price status of listings given prices is derived once, when the import ends.
        options = {"constraints_by_database": True, "status_correction": status_correction, "listing_status": False}
        try:
            if many:
                with transaction.atomic():
                    record_save(instance, user=self.user, reason=self.reason, **options)
                    for name, targets in many.items():
                        getattr(instance, name).set(targets)
            else:
                # atomic: a savepoint of its own
                record_save(instance, user=self.user, reason=self.reason, **options)
            if isinstance(instance, SecurityPrice):
                self.priced_listings.add(instance.listing_id)
        except ValidationError as exc:
            for name, messages in _message_dict(exc).items():
                for message in messages:
                    self._error(sheet, number, _error_column(kind, name, message), message)
            return False
        except IntegrityError as exc:
            self._error(sheet, number, "", f"the database refused the row: {exc}".splitlines()[0])
            return False
        return True


def _error_column(kind: Kind, field_name: str, message: str) -> str:
    """The column a validation error belongs under: its field's, or for a rule over the whole row
    (a check constraint) the first column among the fields the rule reads."""
    if field_name != NON_FIELD_ERRORS:
        return (kind.field_columns(field_name) or [field_name])[0]
    for constraint in kind.model._meta.constraints:
        if isinstance(constraint, models.CheckConstraint) and constraint.get_violation_error_message() == message:
            for name in _condition_fields(constraint.condition):
                if columns := kind.field_columns(name):
                    return columns[0]
    return ""


def _condition_fields(condition: Any) -> list[str]:
    """The fields a constraint's condition names, in order."""
    names: list[str] = []
    for child in getattr(condition, "children", []):
        if isinstance(child, tuple):
            lookup, value = child
            names.append(lookup.split("__")[0])
            if isinstance(value, models.F):
                names.append(value.name.split("__")[0])  # type: ignore[attr-defined]  # F keeps its name; the stubs omit it
        else:
            names.extend(_condition_fields(child))
    return list(dict.fromkeys(names))


def _same(current: Any, new: Any) -> bool:
    if current is None or new is None:
        return current is new
    return current == new


def _columns(kind: Kind, attnames: list[str], many: dict[str, list]) -> set[str]:
    names = set()
    for attname in attnames:
        name = attname.removesuffix("_id")
        names.update(kind.field_columns(name) or [name])
    for name in many:
        names.update(kind.field_columns(name))
    return names


def _message_dict(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD_ERRORS: exc.messages}


def _go_through(upload: Upload, *, user, reason: str, write: bool, run_id: int | None = None) -> Outcome:
    """Every row of every sheet, in one transaction that is kept only if ``write`` and no row failed.

    With ``run_id`` (the worker's runs), the rows gone through are recorded on the run as it goes,
    with its signs of life, by the heartbeat thread's own connection (outside the transaction).
    """
    importer = _Importer(user=user, reason=reason)
    beating: AbstractContextManager[object] = nullcontext()
    if run_id is not None:
        alive = ImportRun.objects.filter(pk=run_id, worker=this_worker())
        beating = heartbeat(lambda: alive.update(progress_done=importer.done, updated_at=timezone.now()))
    with beating, transaction.atomic():
        # The positions' kept ledgers are rebuilt once each, when every row is in (not for a file
        # that is only checked, or refused: nothing of it stays).
        with kept_ledgers.gathered() as waiting:
            for sheet in upload.sheets:
                importer.sheet(sheet)
            if importer.priced_listings:
                listing_price_status_refresh(listing_ids=sorted(importer.priced_listings), as_of=timezone.localdate())
            if importer.outcome.errors or not write:
                waiting.clear()
        if importer.outcome.errors or not write:
            transaction.set_rollback(True)
    return importer.outcome


def _read(content: bytes, file_name: str, kind: str | None, limits: Limits | None = None) -> Upload:
    if len(content) > MAX_FILE_BYTES:
        raise FileRefused(f"The file is {len(content) / 2**20:.1f} MB; at most {MAX_FILE_BYTES // 2**20} MB.")
    return read_upload(content, file_name, kind=kind, limits=limits or Limits())


def inline_limits() -> Limits:
    """What the web request may spend reading an upload itself: a file over these is read by the
    worker instead, within the full limits."""
    rows = settings.LODESTONE_IMPORT_INLINE_ROWS
    return Limits(
        rows=rows, cells=rows * 64, sheet_bytes=8 * 2**20, shared_strings_bytes=2**20, other_bytes=2**20,
        seconds=settings.LODESTONE_IMPORT_INLINE_SECONDS, refusal=OverInlineLimits,
    )  # fmt: skip


def import_file(
    *,
    content: bytes,
    file_name: str,
    user,
    trigger: str,
    dry_run: bool,
    kind: str | None = None,
    keep_for_confirmation: bool = False,
) -> ImportRun:
    """Check a file (``dry_run``) or import it, and record the run.

    A check that finds no error is ``checked``, or ``previewed`` with the file kept when
    ``keep_for_confirmation`` (the admin's preview, confirmed by :func:`import_confirm`). A file
    with any error is ``refused`` and nothing is written. Never raises for a bad file: the run says
    why it was refused.
    """
    run = _new_run(content=content, file_name=file_name, user=user, trigger=trigger, status=ImportRun.Status.REFUSED)
    return _run(run, content, kind=kind, user=user, dry_run=dry_run, keep=keep_for_confirmation)


def _new_run(*, content: bytes, file_name: str, user, trigger: str, keep_content: bool = False, **fields) -> ImportRun:
    return ImportRun.objects.create(
        content=content if keep_content else None,
        trigger=trigger,
        requested_by=user,
        file_name=file_name[:255],
        file_sha256=hashlib.sha256(content).hexdigest(),
        file_size=len(content),
        file_format="xlsx" if content.startswith(b"PK") else "csv",
        **fields,
    )


def import_upload(*, content: bytes, file_name: str, user, kind: str | None = None) -> ImportRun:
    """The admin's check of an uploaded file, kept for confirmation, always recorded as a run.

    The request reads the file itself only within :func:`inline_limits` (by default 1,000 rows,
    read in a few seconds); a file over them is queued for the worker (status ``checking``), which
    reads it within the full limits. A file refused at once (too large, not a spreadsheet) is
    recorded as a refused run with the reason.
    """
    fields = {"content": content, "file_name": file_name, "user": user, "trigger": ImportRun.Trigger.ADMIN}
    try:
        upload = _read(content, file_name, kind, inline_limits())
    except OverInlineLimits:
        run = _new_run(**fields, status=ImportRun.Status.CHECKING, kinds=[kind] if kind else [], keep_content=True,
                       message="The worker is checking the file.")  # fmt: skip
        transaction.on_commit(lambda: _enqueue(Job.IMPORT_CHECK, run))
        return run
    except FileRefused as exc:
        run = _new_run(**fields, status=ImportRun.Status.REFUSED, message=str(exc))
        return run
    run = _new_run(**fields, status=ImportRun.Status.REFUSED)
    return _run(run, content, kind=kind, user=user, dry_run=True, keep=True, upload=upload)


def import_refuse_unread(*, file_name: str, size: int, sha256: str, user, reason: str) -> ImportRun:
    """Record an upload refused before it was read (too large to take in): its name, size and
    hash, and the reason."""
    return ImportRun.objects.create(
        trigger=ImportRun.Trigger.ADMIN, requested_by=user, file_name=file_name[:255], file_sha256=sha256,
        file_size=min(size, 2**31 - 1), file_format=PurePath(file_name).suffix.lower().lstrip(".")[:4],
        status=ImportRun.Status.REFUSED, message=reason,
    )  # fmt: skip


def import_run_fail(*, run_id: int, reason: str) -> None:
    """Mark a run the worker could not finish as refused, with the reason: being all or nothing,
    it wrote nothing. Does nothing to a run that is not in progress."""
    ImportRun.objects.filter(pk=run_id, status__in=[ImportRun.Status.CHECKING, ImportRun.Status.IMPORTING]).update(
        status=ImportRun.Status.REFUSED, content=None, message=f"Refused: {reason}; nothing was written."[:2000]
    )


def _enqueue(job: Job, run: ImportRun) -> None:
    try:
        enqueue(job, run.pk)
    except BrokerUnavailableError as exc:
        import_run_fail(run_id=run.pk, reason=f"the task queue could not be reached ({type(exc.__cause__).__name__})")


#: A queued import started this many times without finishing is refused.
MAX_IMPORT_ATTEMPTS = 3


def _claim(run_id: int, status: str) -> ImportRun | None:
    """Take a queued run for this worker process, or None when it is no longer ``status``, or is
    being worked on by another process that is alive (a second delivery of its task)."""
    me = this_worker()
    with transaction.atomic():
        run = ImportRun.objects.select_for_update(of=("self",)).select_related("requested_by").get(pk=run_id)
        if run.status != status:
            return None
        if held_elsewhere(run.worker, run.updated_at):
            logger.info("Import #%s is being worked on by %s: this delivery leaves it", run.pk, run.worker)
            return None
        if run.attempts >= MAX_IMPORT_ATTEMPTS:
            import_run_fail(run_id=run.pk, reason=f"given up after {run.attempts} attempts that did not finish")
            return None
        run.attempts += 1
        run.worker, run.progress_done = me, 0
        run.save(update_fields=["attempts", "worker", "progress_done", "updated_at"])
    return run


def import_check_queued(*, run_id: int) -> ImportRun:
    """The worker's check of a queued upload (see :func:`import_upload`). Runs again harmlessly if
    the task is delivered twice: a run no longer being checked, or being checked by a live
    process, is left as it is."""
    run = _claim(run_id, ImportRun.Status.CHECKING)
    if run is None:
        return ImportRun.objects.get(pk=run_id)
    return _run(run, _stored_upload(run), kind=_csv_kind(run), user=run.requested_by, dry_run=True, keep=True,
                worker=True)  # fmt: skip


def _stored_upload(run: ImportRun) -> bytes:
    """The uploaded file a queued run keeps until it is checked or applied."""
    if run.content is None:
        raise ValueError(f"import #{run.pk} no longer keeps its file")
    return bytes(run.content)


def import_apply_queued(*, run_id: int) -> ImportRun:
    """The worker's import of a confirmed preview (see :func:`import_confirm`). All or nothing, so a
    worker killed midway wrote nothing, and the redelivered task imports the file again."""
    run = _claim(run_id, ImportRun.Status.IMPORTING)
    if run is None:
        return ImportRun.objects.get(pk=run_id)
    return _run(run, _stored_upload(run), kind=_csv_kind(run), user=run.requested_by, dry_run=False, keep=False,
                worker=True)  # fmt: skip


def import_runs_recover() -> list[ImportRun]:
    """Queue again the task of each run being checked or imported whose worker stopped (its process
    gone, or no sign of life for LODESTONE_RUN_STALE_SECONDS), or that no worker took that long.
    Being all or nothing, the stopped worker wrote nothing. Called every minute by the scheduler;
    returns the runs queued again."""
    queued = []
    for run in ImportRun.objects.filter(status__in=[ImportRun.Status.CHECKING, ImportRun.Status.IMPORTING]):
        stopped = bool(run.worker) and abandoned(run.worker, run.updated_at)
        never_taken = not run.worker and run.updated_at < stale_before()
        if not (stopped or never_taken):
            continue
        retaken = ImportRun.objects.filter(pk=run.pk, status=run.status, updated_at=run.updated_at).update(
            worker="", updated_at=timezone.now()
        )
        if retaken:
            logger.warning("Import #%s: its worker stopped; its task is queued again", run.pk)
            job = Job.IMPORT_CHECK if run.status == ImportRun.Status.CHECKING else Job.IMPORT_APPLY
            transaction.on_commit(partial(_enqueue, job, run))
            queued.append(run)
    return queued


def _csv_kind(run: ImportRun) -> str | None:
    return run.kinds[0] if run.file_format == "csv" and run.kinds else None


def _run(
    run: ImportRun,
    content: bytes,
    *,
    kind: str | None,
    user,
    dry_run: bool,
    keep: bool,
    upload: Upload | None = None,
    worker: bool = False,
) -> ImportRun:
    """Check or import ``content`` (``upload`` when already read) and record the outcome on ``run``
    (``worker``: a worker's run, with its progress and signs of life recorded as it goes)."""
    try:
        upload = upload or _read(content, run.file_name, kind)
    except FileRefused as exc:
        run.status, run.message, run.content = ImportRun.Status.REFUSED, str(exc), None
        run.save()
        return run
    run.file_format = upload.file_format
    run.kinds = [sheet.kind.name for sheet in upload.sheets]
    run.rows = upload.row_count
    if worker:  # the total, for the run's page while the rows are gone through
        ImportRun.objects.filter(pk=run.pk).update(rows=run.rows, kinds=run.kinds, updated_at=timezone.now())
    if problems := _permission_errors(user, upload):
        run.status, run.message = ImportRun.Status.REFUSED, "Refused: " + "; ".join(problems) + "."
        run.content = None
        run.save()
        return run
    if upload.errors:
        outcome = Outcome(errors=upload.errors)  # the columns are wrong: the rows cannot be read
    else:
        outcome = _go_through(upload, user=user, reason=_reason(run), write=not dry_run,
                              run_id=run.pk if worker else None)  # fmt: skip
    run.progress_done = run.rows
    run.counts = {name: dict(counter) for name, counter in outcome.counts.items()}
    run.errors = [error.as_dict() for error in outcome.errors]
    run.changes = outcome.changes
    if outcome.errors:
        run.status = ImportRun.Status.REFUSED
        count = len(outcome.errors)
        run.message = f"Refused: {count} error{'s' if count != 1 else ''}; nothing was written."
        run.content = None
    elif dry_run:
        run.status = ImportRun.Status.PREVIEWED if keep else ImportRun.Status.CHECKED
        run.content = content if keep else None
        run.message = "Checked: nothing was written."
    else:
        run.status, run.applied_at, run.content = ImportRun.Status.APPLIED, timezone.now(), None
        run.message = "Imported."
        if outcome.revalue:
            _request_revaluation(run, user)
    run.save()
    return run


def import_confirm(*, run_id: int, user) -> ImportRun:
    """Import the file of a previewed check, as checked: here for a file of up to
    LODESTONE_IMPORT_INLINE_ROWS rows, else by the worker (status ``importing``). If the data
    changed since the check so that a row now fails, nothing is written and the run is refused
    with the errors.

    Raises ImportRefusedError when the run is not a preview waiting for confirmation, or is
    another steward's.
    """
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run_id)
        if run.status != ImportRun.Status.PREVIEWED or run.content is None:
            raise ImportRefusedError(f"Import #{run.pk} is {run.get_status_display().lower()}: it cannot be confirmed.")
        if run.requested_by_id != user.pk:
            raise ImportRefusedError(f"Import #{run.pk} was checked by another steward: check the file yourself.")
        # Taken: a second confirmation finds it no longer previewed.
        run.status = ImportRun.Status.IMPORTING
        if run.rows > settings.LODESTONE_IMPORT_INLINE_ROWS:
            run.message = f"{run.rows:,} rows: the worker is importing the file."
            run.save(update_fields=["status", "message", "updated_at"])
            transaction.on_commit(lambda: _enqueue(Job.IMPORT_APPLY, run))
            return run
        run.save(update_fields=["status", "updated_at"])
    return _run(run, bytes(run.content), kind=_csv_kind(run), user=user, dry_run=False, keep=False)


def _request_revaluation(run: ImportRun, user) -> None:
    """Ask for a valuation refresh once the import commits; a refresh already running, or a queue
    that cannot be reached, is noted on the run and does not undo the import."""
    try:
        run.revaluation = refresh_start(kind=RefreshRun.Kind.VALUATIONS, trigger=RefreshRun.Trigger.IMPORT,
                                        requested_by=user)  # fmt: skip
        run.message += f" Valuations are being refreshed (refresh #{run.revaluation.pk})."
    except RefreshRefusedError as exc:
        run.message += f" {exc.message} The next refresh values the imported records."
    except BrokerUnavailableError as exc:
        run.message += f" {exc.message}"
