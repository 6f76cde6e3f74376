from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "kefu.audit"
    label = "audit"
