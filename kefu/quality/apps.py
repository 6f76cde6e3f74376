from django.apps import AppConfig


class QualityConfig(AppConfig):
    name = "kefu.quality"
    label = "quality"

    def ready(self) -> None:
        # Register the Celery task with any worker that loads Django (kefu/celery.py does not
        # autodiscover this app yet).
        from . import tasks  # noqa: F401
