from django.urls import path

from . import views

app_name = "analytics"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("live/", views.live, name="live"),
    path("trend/", views.trend, name="trend"),
    path("breakdown/", views.breakdown, name="breakdown"),
    path("contacts/", views.contacts, name="contacts"),
]
