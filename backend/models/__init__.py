"""All tables. Importing this package registers every model on Base.metadata (Alembic needs it)."""
from backend.models.admin_web import AdminLoginFailure, AdminSession
from backend.models.bank_intents import BankCreditIntent, BankIntent
from backend.models.base import Base
from backend.models.campaigns import Campaign, CampaignUse, Coupon
from backend.models.changes import SyncChange
from backend.models.customers import Customer, CustomerGroup
from backend.models.ledger import Account, Entry, Posting
from backend.models.offers import HabitOfferCampaign
from backend.models.merchants import Lane, MealPeriodRow, Merchant, MerchantFee, Site
from backend.models.operators import Operator
from backend.models.parking import (MemberRenewal, ParkingBlacklist, ParkingEventRow, ParkingMember,  # noqa: F401
                                     ParkingOrder, ParkingRules, ParkingSession)
from backend.models.payments import Payment, PaymentLine, Refund, TerminalEvent
from backend.models.signings import FaceTemplate, Signing
from backend.models.subsidies import Grant, GrantBatch, SubsidyHolding, SubsidyProgram
from backend.models.terminals import EnrolmentCode, Terminal, UsedNonce

__all__ = ["AdminLoginFailure", "AdminSession", "BankCreditIntent", "BankIntent", "Base", "EnrolmentCode", "Lane",
           "MealPeriodRow", "Merchant", "MerchantFee", "Operator",
           "Site", "SyncChange", "Terminal", "UsedNonce",
           # money
           "Account", "Campaign", "CampaignUse", "Coupon", "HabitOfferCampaign", "Customer", "CustomerGroup", "Entry", "FaceTemplate", "Grant", "GrantBatch",
           "Payment", "PaymentLine", "Posting", "Refund", "Signing", "SubsidyHolding", "SubsidyProgram",
           "TerminalEvent"]
