"""Users, roles, teams and back-office departments (S1, X2)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    TEAM_LEAD = "team_lead", _("Team lead")
    INSPECTOR = "inspector", _("Quality inspector")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")
    AUDITOR = "auditor", _("Auditor")


class Level(models.TextChoices):
    JUNIOR = "junior", _("Junior")
    INTERMEDIATE = "intermediate", _("Intermediate")
    SENIOR = "senior", _("Senior")
    MANAGEMENT = "management", _("Management")


class Team(models.Model):
    name = models.CharField(_("name"), max_length=64, unique=True)
    lead = models.ForeignKey("User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")

    def __str__(self) -> str:
        return self.name


class Department(models.Model):
    """A back-office department (network maintenance, billing, installation…) that work orders
    can be handed to (W5). Its queue is the set of orders assigned to it."""

    code = models.SlugField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=64, unique=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.AGENT)
    # S1: 工号, unique, spoken in the opening and closing scripts (Q1).
    agent_id = models.CharField(_("agent id"), max_length=16, unique=True, null=True, blank=True)
    display_name = models.CharField(_("display name"), max_length=64, blank=True)
    level = models.CharField(_("level"), max_length=16, choices=Level.choices, default=Level.JUNIOR)
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    @property
    def label(self) -> str:
        name = self.display_name or self.username
        return f"{name}({self.agent_id})" if self.agent_id else name


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash of the secret is stored; the token is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=64, blank=True)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user.username})"
