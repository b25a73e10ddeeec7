"""Domain errors: each carries a message for people and a stable code for machines."""

from __future__ import annotations


class PortfolioError(Exception):
    code = "portfolio_error"

    def __init__(self, message: str, *, extra: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}


class RefreshRefusedError(PortfolioError):
    """Another refresh of the same kind is queued or running; the refused request is recorded."""

    code = "refresh_in_progress"


class BrokerUnavailableError(PortfolioError):
    """The message broker could not be reached; the run is recorded as failed."""

    code = "broker_unavailable"


class ScenarioRunRefusedError(PortfolioError):
    """The same scenario run (its kind, scenario, date and path) is already queued or running."""

    code = "scenario_run_in_progress"


class ImportRefusedError(PortfolioError):
    """A spreadsheet import cannot be confirmed (not a preview waiting, or another steward's)."""

    code = "import_refused"


class ReportFrozenError(PortfolioError):
    """A published report is never changed or deleted: it stays as it was published."""

    code = "report_frozen"
