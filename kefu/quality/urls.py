from django.urls import path

from . import views

app_name = "quality"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("i/<int:inspection_id>/", views.inspection_detail, name="detail"),
    path("i/<int:inspection_id>/do/<str:action>/", views.inspection_action, name="action"),
    path("scorecards/", views.scorecards, name="scorecards"),
    path("check-reply/", views.check_reply_view, name="check_reply"),
]
