"""Spreadsheet imports in the admin: upload a file, read the check's report, confirm the import;
download a template per kind, or the current records in the same format."""

from __future__ import annotations

import hashlib

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from portfolio.exceptions import ImportRefusedError
from portfolio.models import ImportRun
from portfolio.services.imports import MAX_FILE_BYTES, import_confirm, import_refuse_unread, import_upload
from portfolio.spreadsheets.files import csv_bytes, export_rows, xlsx_bytes
from portfolio.spreadsheets.kinds import KIND_BY_NAME, KINDS

from .formatting import datetime_column, figure, figure_column
from .mixins import ReadOnlyAdminMixin

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class UploadForm(forms.Form):
    file = forms.FileField(help_text="A .xlsx workbook with a sheet per kind, or a .csv file of one kind (UTF-8).")
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "From the file name"), *[(kind.name, kind.name) for kind in KINDS]],
        help_text="For a CSV file: the kind of record it holds.",
    )


def _download(content: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every check and import, read-only; new ones start from the upload page."""

    list_display = ["id", "file_name", "status", "requested_by", "created", "rows_display", "changed", "errors"]
    list_filter = ["status", "trigger"]
    list_select_related = ["requested_by"]
    search_fields = ["file_name", "file_sha256"]
    date_hierarchy = "created_at"
    exclude = ["content", "errors", "changes", "counts"]
    readonly_fields = [
        "status", "trigger", "requested_by", "file_name", "file_sha256", "file_size", "file_format", "kinds",
        "rows", "message", "applied_at", "revaluation", "created_at",
    ]  # fmt: skip
    change_list_template = "admin/portfolio/importrun/change_list.html"
    change_form_template = "admin/portfolio/importrun/change_form.html"

    created = datetime_column("created_at", "Uploaded")
    rows_display = figure_column("rows", "Rows", places=0)

    @admin.display(description="Created or updated")
    def changed(self, obj: ImportRun) -> str:
        return figure(obj.total("created") + obj.total("updated"), 0)

    @admin.display(description="Errors")
    def errors(self, obj: ImportRun) -> str:
        return figure(obj.error_count, 0)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="portfolio_importrun_upload"),
            path("<int:pk>/confirm/", view(require_POST(self.confirm_view)), name="portfolio_importrun_confirm"),
            path("template.xlsx", view(self.template_view), name="portfolio_importrun_template"),
            path("template/<slug:kind>.csv", view(self.template_view), name="portfolio_importrun_template_csv"),
            path("current.xlsx", view(self.current_view), name="portfolio_importrun_current"),
            *super().get_urls(),
        ]

    def _require(self, request, permission: str) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied

    def changelist_view(self, request, extra_context=None):
        extra = {"kinds": KINDS, "can_import": request.user.has_perm("portfolio.import_spreadsheet")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = get_object_or_404(ImportRun, pk=object_id)
        extra = {
            "run": run,
            "can_confirm": run.status == ImportRun.Status.PREVIEWED
            and run.requested_by_id == request.user.pk
            and request.user.has_perm("portfolio.import_spreadsheet"),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

    def upload_view(self, request):
        self._require(request, "portfolio.import_spreadsheet")
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_FILE_BYTES:  # not taken into memory: recorded as refused with its hash
                digest = hashlib.sha256()
                for chunk in upload.chunks():
                    digest.update(chunk)
                run = import_refuse_unread(
                    file_name=upload.name,
                    size=upload.size,
                    sha256=digest.hexdigest(),
                    user=request.user,
                    reason=f"The file is {upload.size / 2**20:,.1f} MB; at most {MAX_FILE_BYTES // 2**20} MB.",
                )
            else:
                run = import_upload(content=upload.read(), file_name=upload.name, user=request.user,
                                    kind=form.cleaned_data["kind"] or None)  # fmt: skip
            level = messages.ERROR if run.status == ImportRun.Status.REFUSED else messages.SUCCESS
            self.message_user(request, run.message, level)
            return HttpResponseRedirect(reverse("admin:portfolio_importrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import a spreadsheet",
            "form": form,
            "kinds": KINDS,
        }
        return TemplateResponse(request, "admin/portfolio/importrun/upload.html", context)

    def confirm_view(self, request, pk: int):
        self._require(request, "portfolio.import_spreadsheet")
        try:
            run = import_confirm(run_id=pk, user=request.user)
        except ImportRun.DoesNotExist:
            raise Http404 from None
        except ImportRefusedError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:portfolio_importrun_change", args=[pk]))
        level = messages.ERROR if run.status == ImportRun.Status.REFUSED else messages.SUCCESS
        self.message_user(request, run.message, level)
        return HttpResponseRedirect(reverse("admin:portfolio_importrun_change", args=[run.pk]))

    def template_view(self, request, kind: str | None = None):
        self._require(request, "portfolio.view_importrun")
        if kind is None:
            return _download(xlsx_bytes([(k, []) for k in KINDS]), "lodestone-import-template.xlsx", XLSX_TYPE)
        if kind not in KIND_BY_NAME:
            raise Http404
        return _download(csv_bytes(KIND_BY_NAME[kind], []), f"{kind}.csv", "text/csv; charset=utf-8")

    def current_view(self, request):
        for kind in KINDS:
            self._require(request, f"portfolio.view_{kind.model._meta.model_name}")
        content = xlsx_bytes([(kind, export_rows(kind)) for kind in KINDS])
        return _download(content, "lodestone-records.xlsx", XLSX_TYPE)
