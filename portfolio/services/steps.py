"""What one step of a refresh run did, as every step reports it to the run."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class StepResult:
    """What a refresh step did: rows written, subjects attempted and failed, errors for the run."""

    step: str
    total: int = 0
    failed: int = 0
    written: int = 0
    revised: int = 0
    simulated: bool = False
    errors: list[dict] = field(default_factory=list)
    transient_failures: int = 0

    def error(self, subject: str, message: str, *, provider: str = "", kind: str = "error") -> None:
        self.errors.append(
            {"step": self.step, "subject": subject, "provider": provider, "kind": kind, "message": message}
        )

    @property
    def all_failed_transiently(self) -> bool:
        return self.total > 0 and self.transient_failures == self.total


#: The refresh's steps, as a run's page names them.
STEP_LABELS = {
    "fx": "FX rates",
    "prices": "Share prices",
    "commodities": "Commodity prices",
    "valuations": "Valuations",
    "snapshot": "Portfolio snapshot",
    "milestones": "Milestone statuses",
    "deadlines": "Deal deadlines",
    "filings": "SEC filings",
    "shares": "Shares outstanding (SEC)",
}


def step_label(step: str) -> str:
    """ "fx" -> "FX rates"; an unknown step with its underscores as spaces, capitalised."""
    return STEP_LABELS.get(step) or step.replace("_", " ").capitalize()
