from django.urls import path

from . import views

app_name = "kb"

urlpatterns = [
    # the customer portal's answering bot (no login)
    path("portal/bot/", views.bot_page, name="bot"),
    path("portal/bot/ask/", views.bot_ask, name="bot_ask"),
    path("portal/bot/feedback/", views.bot_feedback, name="bot_feedback"),
    path("portal/bot/person/", views.bot_person, name="bot_person"),
    path("portal/bot/handoff/", views.bot_handoff, name="bot_handoff"),
    path("portal/bot/new/", views.bot_restart, name="bot_restart"),
    # the agent workspace
    path("w/kb/", views.kb_search, name="search"),
    # knowledge editors (知识管理)
    path("w/kb/manage/", views.manage, name="manage"),
    path("w/kb/manage/new/", views.manage_new, name="manage_new"),
    path("w/kb/versions/<int:version_id>/submit/", views.version_submit, name="version_submit"),
    path("w/kb/versions/<int:version_id>/review/", views.version_review, name="version_review"),
    path("w/kb/items/<int:item_id>/", views.item_page, name="item"),
    path("w/kb/items/<int:item_id>/revise/", views.item_revise, name="item_revise"),
    path("w/kb/items/<int:item_id>/archive/", views.item_archive, name="item_archive"),
    path("w/kb/items/<int:item_id>/validity/", views.item_validity, name="item_validity"),
    path("w/kb/items/<int:item_id>/properties/", views.item_properties, name="item_properties"),
    path("w/kb/import/", views.kb_import, name="import"),
    path("w/kb/export/", views.kb_export, name="export"),
    path("w/kb/routes/", views.route_save, name="route_save"),
    path("w/kb/routes/<int:route_id>/delete/", views.route_delete, name="route_delete"),
    path("w/kb/vocabulary/", views.vocabulary_add, name="vocabulary_add"),
    path("w/kb/vocabulary/<int:entry_id>/delete/", views.vocabulary_delete, name="vocabulary_delete"),
    path("w/t/<str:ticket_id>/kb/assist/", views.assist, name="assist"),
    path("w/t/<str:ticket_id>/kb/flow/", views.flow_panel, name="flow"),
    path("w/t/<str:ticket_id>/kb/flow/start/", views.flow_start, name="flow_start"),
    path("w/t/<str:ticket_id>/kb/flow/<int:run_id>/answer/", views.flow_answer, name="flow_answer"),
]
