"""The three roles of staff, as groups with model permissions.

Viewer reads everything (published reports included). Analyst also writes deals, instruments, cash
flows, exposure legs (loans and their drawings and repayments, price floors and their payments,
offtakes, grants, guarantees), companies' share counts, projects' production figures, milestones
and manual marks (by hand or by importing a spreadsheet) and scenarios, starts refreshes and
publishes briefing reports. Admin has every portfolio permission and manages users and schedules.
Pages and the API check these permissions; what a role may not do is neither shown nor accepted.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group, Permission

VIEWER, ANALYST, ADMIN = "Viewer", "Analyst", "Admin"
ROLES = (VIEWER, ANALYST, ADMIN)

ANALYST_WRITES = (
    "deal",
    "dealdocument",
    "position",
    "cashflow",
    "loan",
    "loanevent",
    "pricefloor",
    "pricefloorpayment",
    "offtake",
    "grant",
    "guarantee",
    "sharecount",
    "productionfigure",
    "milestone",
    "manualmark",
    "importrun",
    "scenario",
)


def _wanted() -> dict[str, set[tuple[str, str]]]:
    """(app_label, codename) pairs per role."""
    portfolio_models = [
        m for m in apps.get_app_config("portfolio").get_models() if not m.__name__.startswith("Historical")
    ]
    view = {("portfolio", f"view_{m._meta.model_name}") for m in portfolio_models}
    writes = {("portfolio", f"{action}_{name}") for name in ANALYST_WRITES for action in ("add", "change")}
    analyst = view | writes | {("portfolio", p) for p in ("run_refresh", "import_spreadsheet", "publish_report")}
    every_portfolio = {
        ("portfolio", f"{action}_{m._meta.model_name}")
        for m in portfolio_models
        for action in ("add", "change", "delete", "view")
    }
    admin = (
        every_portfolio
        | analyst
        | {("auth", f"{action}_{model}") for model in ("user", "group") for action in ("add", "change", "view")}
        | {
            ("django_celery_beat", f"{action}_{model}")
            for model in ("periodictask", "crontabschedule", "intervalschedule")
            for action in ("add", "change", "delete", "view")
        }
    )
    return {VIEWER: view, ANALYST: analyst, ADMIN: admin}


def roles_ensure(**kwargs) -> None:
    """Create the role groups and give them their permissions (adding what is missing).

    Connected to ``post_migrate`` (after the permissions themselves are created), so the roles
    are complete after every migrate and after a test-database flush. Idempotent.
    """
    wanted = _wanted()
    needed = set().union(*wanted.values())
    available = {
        (p.content_type.app_label, p.codename): p
        for p in Permission.objects.select_related("content_type").filter(codename__in={c for _, c in needed})
    }
    for role, pairs in wanted.items():
        group, _ = Group.objects.get_or_create(name=role)
        have = set(group.permissions.values_list("content_type__app_label", "codename"))
        missing = [available[pair] for pair in pairs - have if pair in available]
        if missing:
            group.permissions.add(*missing)
