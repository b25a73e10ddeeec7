"""Django admin for data stewards: every model, with history, inlines and derived columns."""

from . import deals, imports, market, milestones, operations, registry, reports, users  # noqa: F401  (registers the admins)
