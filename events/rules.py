"""The rules of DOMAIN.md: one exception per rule, each carrying its stable code.

A rule that refuses a step raises before any event is triggered, so a refused
step leaves the case exactly as it was.
"""

from __future__ import annotations


class RuleViolation(Exception):
    """A step was refused by a rule of the domain."""

    code: str = "rule"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}"


class StepOwner(RuleViolation):
    code = "step-owner"


class ConsentRequired(RuleViolation):
    code = "consent-required"


class DataMinimisation(RuleViolation):
    code = "data-minimisation"


class AsylumGuard(RuleViolation):
    code = "asylum-guard"


class AcceptanceRequired(RuleViolation):
    code = "acceptance-required"


class ReturnConsentRequired(RuleViolation):
    code = "return-consent-required"


class RiskAssessmentRequired(RuleViolation):
    code = "risk-assessment-required"


class MinorSafeguards(RuleViolation):
    code = "minor-safeguards"


class ProceedingsClearance(RuleViolation):
    code = "proceedings-clearance"


class TravelDocumentValid(RuleViolation):
    code = "travel-document-valid"


class ReceptionRequired(RuleViolation):
    code = "reception-required"


class ConsentWithdrawalHalts(RuleViolation):
    code = "consent-withdrawal-halts"


class Sequence(RuleViolation):
    code = "sequence"


class ClosureJustified(RuleViolation):
    code = "closure-justified"


class RiskDowngradeJustified(RuleViolation):
    code = "risk-downgrade-justified"


class FitToTravel(RuleViolation):
    code = "fit-to-travel"


class ReflectionPeriod(RuleViolation):
    code = "reflection-period"


class RetraffickingRisk(RuleViolation):
    code = "retrafficking-risk"


class IdentityConfirmed(RuleViolation):
    code = "identity-confirmed"


class ProtectionIncidentUnanswered(RuleViolation):
    code = "protection-incident"


class NonPunishment(RuleViolation):
    code = "non-punishment"


class FourEyes(RuleViolation):
    code = "four-eyes"


class ApprovalPending(RuleViolation):
    code = "approval-pending"


class Assignment(RuleViolation):
    code = "assignment"


class InvalidField(ValueError):
    """A body that is well-formed but contradicts the case (the minor flag and the date of
    birth, a language the person does not speak without an interpreter): 422 naming it."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field, self.detail = field, detail


RULES: dict[str, type[RuleViolation]] = {
    cls.code: cls
    for cls in (
        StepOwner,
        ConsentRequired,
        DataMinimisation,
        AsylumGuard,
        AcceptanceRequired,
        ReturnConsentRequired,
        RiskAssessmentRequired,
        MinorSafeguards,
        ProceedingsClearance,
        TravelDocumentValid,
        ReceptionRequired,
        ConsentWithdrawalHalts,
        Sequence,
        ClosureJustified,
        RiskDowngradeJustified,
        FitToTravel,
        ReflectionPeriod,
        RetraffickingRisk,
        IdentityConfirmed,
        ProtectionIncidentUnanswered,
        NonPunishment,
    )
}

# The rules of the agency's own casework (events/casework.py): they refuse no step of the
# process but an assignment, an approval request or a decision.
CASEWORK_RULES: dict[str, type[RuleViolation]] = {
    cls.code: cls for cls in (Assignment, ApprovalPending, FourEyes)
}
