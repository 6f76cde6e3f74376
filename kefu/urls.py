from django.contrib import admin
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from kefu.api import api
from kefu.followup.views import survey_page


def healthz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except Exception as exc:  # noqa: BLE001 — any database failure means unhealthy
        return JsonResponse({"status": "error", "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"status": "ok", "database": connection.vendor})


urlpatterns = [
    path("healthz", healthz),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("survey/<str:token>/", survey_page, name="survey"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("kefu.knowledge.urls")),  # /portal/bot/… and /w/kb/…, before the portal's and the workspace's
    path("portal/", include("kefu.portal.urls")),
    path("q/", include("kefu.quality.urls")),
    path("a/r/", include("kefu.analytics.report_urls")),  # reports (issue #7), before the dashboards' /a/
    path("a/", include("kefu.analytics.urls")),  # dashboards (issue #7)
    path("", include("kefu.web.urls")),
]
