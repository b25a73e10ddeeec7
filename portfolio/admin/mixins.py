"""Admin helpers shared by several model admins."""

from __future__ import annotations


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
