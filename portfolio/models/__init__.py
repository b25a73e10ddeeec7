"""Domain models, split by subdomain and re-exported here."""

from .base import Currency, Evidence
from .deals import (
    CASH_FLOW_SIGN,
    CashFlow,
    CashFlowKind,
    Deal,
    DealDocument,
    DealStatus,
    Grant,
    InstrumentKind,
    Loan,
    Offtake,
    Position,
    PriceFloor,
)
from .imports import ImportRun
from .market import SIMULATED_SOURCE, CommodityPrice, FxRate, SecurityPrice
from .milestones import (
    DatePrecision,
    Milestone,
    MilestoneKind,
    MilestoneRevision,
    MilestoneStatus,
    MilestoneStatusChange,
)
from .operations import ACTIVE_RUN_STATUSES, DigestSubscription, FilingEvent, PortfolioSnapshot, RefreshRun
from .registry import Agency, AgencyAlias, Commodity, Company, Exchange, Listing, PriceStatus, Project, ProjectStage
from .valuations import FairValueLevel, ManualMark, Valuation, ValuationMethod

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "CASH_FLOW_SIGN",
    "SIMULATED_SOURCE",
    "Agency",
    "AgencyAlias",
    "CashFlow",
    "CashFlowKind",
    "Commodity",
    "CommodityPrice",
    "Company",
    "Currency",
    "DatePrecision",
    "Deal",
    "DealDocument",
    "DealStatus",
    "DigestSubscription",
    "Evidence",
    "Exchange",
    "FairValueLevel",
    "FilingEvent",
    "FxRate",
    "Grant",
    "ImportRun",
    "InstrumentKind",
    "Listing",
    "Loan",
    "ManualMark",
    "Milestone",
    "MilestoneKind",
    "MilestoneRevision",
    "MilestoneStatus",
    "MilestoneStatusChange",
    "Offtake",
    "PortfolioSnapshot",
    "Position",
    "PriceFloor",
    "PriceStatus",
    "Project",
    "ProjectStage",
    "RefreshRun",
    "SecurityPrice",
    "Valuation",
    "ValuationMethod",
]
