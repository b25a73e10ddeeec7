"""Admin helpers shared by several model admins."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db import models, transaction
from simple_history.admin import SimpleHistoryAdmin

from portfolio.models import country_name
from portfolio.services.records import record_delete, record_save

from .formatting import GroupedDecimalField, GroupedDecimalInput


class ReadOnlyAdminMixin:
    """Rows that the application writes (reference data, import records): read here, never edited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class GroupedDecimalsMixin:
    """Decimal inputs that show 400,000 rather than 400000.000000 and take back exactly what they
    show (typed with or without thousands separators)."""

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = {
        models.DecimalField: {"form_class": GroupedDecimalField}
    }


class TabularInline(GroupedDecimalsMixin, admin.TabularInline):
    """A tabular inline with readable decimal inputs."""


class CompactInputsMixin(GroupedDecimalsMixin):
    """Inputs sized to what they usually hold, so that a record's rows fit the page at 1440 px:
    text of 20 characters, links of 24, figures of 14, notes of two lines (the admin's own text
    inputs are 20em wide, its link inputs 30em and its text areas 48em). ``input_sizes`` narrows
    named inputs further, e.g. a rate or a term. The inputs take as much as before: only their
    width changes."""

    formfield_overrides: ClassVar[Mapping[type[models.Field[Any, Any]], Mapping[str, Any]]] = {
        models.DecimalField: {"form_class": GroupedDecimalField, "widget": GroupedDecimalInput(attrs={"size": 14})},
        models.CharField: {"widget": forms.TextInput(attrs={"size": 20})},
        models.URLField: {"widget": forms.URLInput(attrs={"size": 24})},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 24})},
    }
    input_sizes: ClassVar[dict[str, int]] = {}

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)
        if formfield is not None and db_field.name in self.input_sizes:
            formfield.widget.attrs["size"] = self.input_sizes[db_field.name]
        return formfield


class CompactTabularInline(CompactInputsMixin, admin.TabularInline):
    """A tabular inline whose rows fit the page: readable decimals, inputs sized to their content."""


class CompactStackedInline(CompactInputsMixin, admin.StackedInline):
    """A stacked inline for records with many fields, laid out a few fields a line."""


def country_filter(field_path: str, title: str = "country") -> type[admin.SimpleListFilter]:
    """A list filter by a country field (``field_path``, e.g. ``company__country``), offering the
    countries the rows have by name ("Canada" for CA), with the one query Django's own filter of
    the field's values makes."""

    class CountryFilter(admin.SimpleListFilter):
        parameter_name = field_path

        def lookups(self, request, model_admin):
            codes = (
                model_admin.get_queryset(request)
                .exclude(**{field_path: ""})
                .order_by()
                .values_list(field_path, flat=True)
                .distinct()
            )
            return sorted(((code, country_name(code)) for code in codes if code), key=lambda choice: choice[1])

        def queryset(self, request, queryset):
            return queryset.filter(**{field_path: self.value()}) if self.value() else queryset

    CountryFilter.title = title
    return CountryFilter


class SharedChoicesInlineMixin:
    """Inline foreign-key selects that load their choices once per page, not once per row.

    Each row of an inline formset would otherwise query the related table again (an
    autocomplete widget looks up its selected value, a select lists its choices), so a deal
    with 30 positions would cost 30 queries per related field. The fields named in
    ``shared_choice_fields`` are plain selects whose choices are built once per request.
    """

    shared_choice_fields: tuple[str, ...] = ()

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if formfield is not None and db_field.name in self.shared_choice_fields:
            cache = request.__dict__.setdefault("_shared_admin_choices", {})
            key = (db_field.model, db_field.name)
            if key not in cache:
                cache[key] = list(formfield.choices)
            formfield.choices = cache[key]
        return formfield


class RecordServiceAdminMixin:
    """Saves and deletes made in the admin go through the records service, as the API's and
    imports' do.

    The form has already validated the input; the service validates again with the model's rules,
    names the steward in the audit history and the record's author fields, and, for milestones,
    keeps the forecast windows and revisions. Inline rows, deletes from a record's page, from the
    "delete selected" action and from an inline go through the same service, so each deleted row
    has a history row naming the steward.
    """

    change_reason = "Edited in the admin"
    delete_reason = "Deleted in the admin"

    def save_model(self, request, obj, form, change):
        correction = bool(getattr(form, "cleaned_data", {}).get("status_correction"))
        record_save(obj, user=request.user, reason=self.change_reason, status_correction=correction)

    def save_formset(self, request, form, formset, change):
        for obj in formset.save(commit=False):
            record_save(obj, user=request.user, reason=self.change_reason)
        for obj in formset.deleted_objects:
            record_delete(obj, user=request.user, reason=self.delete_reason)
        formset.save_m2m()

    def delete_model(self, request, obj):
        record_delete(obj, user=request.user, reason=self.delete_reason)

    @transaction.atomic
    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record_delete(obj, user=request.user, reason=self.delete_reason)


class StewardRecordAdmin(RecordServiceAdminMixin, GroupedDecimalsMixin, SimpleHistoryAdmin):
    """The admin of a steward's record: saves through the records service, with its change history
    and readable decimal inputs."""
