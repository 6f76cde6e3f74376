from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "kefu.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self) -> None:
        import kefu.celery  # noqa: F401 — the Celery app becomes current in every process
