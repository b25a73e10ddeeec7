from django.contrib.auth import views as auth_views
from django.urls import path

from . import changes, exports, lists, reports, scenarios, search, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/login/", views.login_view, name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(template_name="portfolio/web/password_change.html"),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="portfolio/web/password_change_done.html"),
        name="password_change_done",
    ),
    path("deals/", views.deals, name="deals"),
    path("deals/<slug:reference>/", views.deal, name="deal"),
    path("companies/", lists.companies, name="companies"),
    path("projects/", lists.projects, name="projects"),
    path("agencies/", lists.agencies, name="agencies"),
    path("filings/", lists.filings, name="filings"),
    path("search/", search.search, name="search"),
    path("companies/<int:pk>/", views.company, name="company"),
    path("projects/<int:pk>/", views.project, name="project"),
    path("agencies/<str:short_name>/", views.agency, name="agency"),
    path("changes/", changes.changes, name="changes"),
    path("scenarios/", scenarios.scenarios, name="scenarios"),
    path("scenarios/new/", scenarios.scenario_new, name="scenario-new"),
    path("scenarios/<int:pk>/", scenarios.scenario, name="scenario"),
    path("scenarios/<int:pk>/edit/", scenarios.scenario_edit, name="scenario-edit"),
    path("scenarios/<int:pk>/delete/", scenarios.scenario_delete_view, name="scenario-delete"),
    path("milestones/", views.milestones, name="milestones"),
    path("milestones/timeline/", views.milestone_timeline, name="milestone-timeline"),
    path("refresh-runs/", views.refresh_runs, name="refresh-runs"),
    path("refresh-runs/start/", views.refresh_start_view, name="refresh-start"),
    path("refresh-runs/<int:pk>/", views.refresh_run, name="refresh-run"),
    path("exports/positions.<str:fmt>", exports.positions_export, name="export-positions"),
    path("exports/cash-flows.<str:fmt>", exports.cash_flows_export, name="export-cash-flows"),
    path("exports/milestones.<str:fmt>", exports.milestones_export, name="export-milestones"),
    path("exports/bridge.<str:fmt>", changes.bridge_export, name="export-bridge"),
    path("exports/exposure.<str:fmt>", exports.exposure_export, name="export-exposure"),
    path("report/", exports.report, name="report"),
    path("reports/", reports.reports, name="reports"),
    path("reports/<int:number>/", reports.published_report, name="published-report"),
]
