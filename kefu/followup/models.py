"""Return visits 回访 (F1, F3) and satisfaction surveys (F2)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class VisitKind(models.TextChoices):
    CALL = "call", _("Call by an agent")
    SURVEY = "survey", _("Survey link")


class VisitReason(models.TextChoices):
    RESOLUTION = "resolution", _("After resolution")
    SAMPLE = "sample", _("Sample")
    CYCLICAL = "cyclical", _("Cyclical return visit")


class VisitStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


class Outcome(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    UNSATISFIED = "unsatisfied", _("Unsatisfied")
    UNREACHABLE = "unreachable", _("Unreachable")


class ReturnVisit(models.Model):
    """A return visit: a task in an agent's queue (call) or a survey sent to the customer."""

    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="return_visits")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="return_visits")
    kind = models.CharField(_("kind"), max_length=8, choices=VisitKind.choices)
    reason = models.CharField(_("reason"), max_length=12, choices=VisitReason.choices)
    status = models.CharField(_("status"), max_length=10, choices=VisitStatus.choices, default=VisitStatus.SCHEDULED)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="return_visits"
    )
    # Not before (in a call window) and no later than.
    scheduled_at = models.DateTimeField(_("scheduled at"))
    due_at = models.DateTimeField(_("due at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("return visit")
        verbose_name_plural = _("return visits")
        indexes = [
            models.Index(fields=["assignee", "status", "scheduled_at"], name="visit_queue"),
            models.Index(fields=["customer", "reason", "-created_at"], name="visit_customer"),
        ]
        constraints = [
            # One open visit per order: resolving, reopening and resolving again replaces none twice.
            models.UniqueConstraint(fields=["ticket"], condition=models.Q(status="scheduled"), name="visit_one_open"),
        ]


class SurveyInvitation(models.Model):
    """A signed, expiring, single-use link for one contact (F2)."""

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="survey_invitations")
    visit = models.ForeignKey(ReturnVisit, null=True, blank=True, on_delete=models.SET_NULL, related_name="invitations")
    channel = models.CharField(_("channel"), max_length=8, default="sms")
    nonce = models.CharField(max_length=24)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")


class SurveyResponse(models.Model):
    invitation = models.OneToOneField(SurveyInvitation, on_delete=models.CASCADE, related_name="response")
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="survey_responses")
    # The agent assessed (F2: results feed agent assessment): the order's assignee, else its owner.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    score = models.PositiveSmallIntegerField(_("score"))
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [models.Index(fields=["agent", "created_at"], name="survey_agent_month")]
        constraints = [models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=5), name="survey_score_1_5")]
