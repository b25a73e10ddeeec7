"""Table headers of the list pages: a header that sorts its column, keeping the page's filters."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def sort_th(context, key: str, label: str, num: bool = False, first: str = "") -> str:
    """A ``<th>`` whose link sorts by ``key``: up first for text, down first for figures (or
    ``first="asc"/"desc"``), the other way on a second click; ``aria-sort`` on the sorted one.

    Reads ``sort`` (a ``portfolio.web.sorting.Sort``) and ``request`` from the context."""
    request = context["request"]
    current = context.get("sort")
    descending_first = first == "desc" or (num and first != "asc")
    active = current is not None and current.key == key
    descending = (not current.descending) if active else descending_first
    params = request.GET.copy()
    params.pop("page", None)
    params["sort"] = f"-{key}" if descending else key
    css = "num" if num else ""
    if active:
        direction = "descending" if current.descending else "ascending"
        arrow = "▼" if current.descending else "▲"
        return format_html(
            '<th scope="col" class="{} sorted" aria-sort="{}">'
            '<a href="?{}">{} <span aria-hidden="true">{}</span></a></th>',
            css,
            direction,
            params.urlencode(),
            label,
            arrow,
        )
    return format_html('<th scope="col" class="{}"><a href="?{}">{}</a></th>', css, params.urlencode(), label)
