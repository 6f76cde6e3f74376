from django.urls import path

from . import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("w/", views.ticket_list, name="list"),
    path("w/views/", views.saved_view_save, name="view_save"),
    path("w/views/<int:view_id>/delete/", views.saved_view_delete, name="view_delete"),
    path("w/call/", views.call, name="call"),
    path("w/board/", views.board, name="board"),
    path("w/board/reassign/", views.board_reassign, name="reassign"),
    path("w/t/<str:ticket_id>/", views.ticket_detail, name="detail"),
    path("w/t/<str:ticket_id>/do/<str:action>/", views.ticket_action, name="action"),
    path("w/t/<str:ticket_id>/attach/", views.ticket_attach, name="attach"),
    path("w/t/<str:ticket_id>/files/<int:attachment_id>/", views.attachment_download, name="download"),
    path("w/t/<str:ticket_id>/reveal/", views.reveal, name="reveal"),
]
