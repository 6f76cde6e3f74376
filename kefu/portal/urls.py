from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.submit, name="submit"),
    path("submitted/", views.submitted, name="submitted"),
    path("track/", views.track, name="track"),
    path("order/", views.order, name="order"),
    path("order/leave/", views.leave, name="leave"),
    path("order/<str:action>/", views.order_action, name="order_action"),
]
