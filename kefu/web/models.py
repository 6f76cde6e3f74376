"""What the agent workspace itself keeps: login attempts (lock-out), saved list views, and the
one-time tokens that make a form submit count once."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginAttempt(models.Model):
    """One login attempt. Failures within the window lock the user name (X2)."""

    username = models.CharField(_("user name"), max_length=150)
    ip = models.CharField(_("IP address"), max_length=64, blank=True)
    success = models.BooleanField(_("success"), default=False)
    at = models.DateTimeField(_("at"))

    class Meta:
        verbose_name = _("login attempt")
        verbose_name_plural = _("login attempts")
        indexes = [models.Index(fields=["username", "at"], name="login_attempt_user_at")]


class SavedView(models.Model):
    """A named set of list filters an agent comes back to (e.g. “my breached complaints”)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(_("name"), max_length=40)
    query = models.CharField(_("filters"), max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_user_name")]
        ordering = ["name"]


class FormToken(models.Model):
    """A rendered form's one-time token, stored in the same transaction as what the form does: a
    second submit of the same form (double click, reload) is refused instead of doing it twice."""

    token = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField(auto_now_add=True)
