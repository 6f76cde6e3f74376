"""Report pages, mounted at /a/r/ (issue #7)."""

from django.urls import path

from . import report_views as views

app_name = "reports"

urlpatterns = [
    path("", views.report_index, name="index"),
    path("notes/", views.note_create, name="note_create"),
    path("notes/answer/", views.note_update, name="note_update"),
    path("<str:name>/", views.report_page, name="report"),
    path("<str:name>/export.<str:fmt>", views.report_download, name="download"),
]
