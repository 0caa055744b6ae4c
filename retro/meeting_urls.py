from django.urls import path

from . import finalize_views
from . import meeting_views as views

urlpatterns = [
    path("events/<slug:slug>/retro/", views.meeting_page_view, name="meeting-page"),
    path("events/<slug:slug>/retro/vote/<uuid:pk>/", views.meeting_vote, name="meeting-vote"),
    path("events/<slug:slug>/retro/merge/<uuid:pk>/", views.meeting_merge, name="meeting-merge"),
    path(
        "events/<slug:slug>/retro/merge/<uuid:pk>/candidates/",
        views.meeting_merge_candidates,
        name="meeting-merge-candidates",
    ),
    path(
        "events/<slug:slug>/retro/promote/<uuid:pk>/",
        views.meeting_promote,
        name="meeting-promote",
    ),
    path(
        "events/<slug:slug>/retro/no-change/<uuid:pk>/",
        views.meeting_no_change,
        name="meeting-no-change",
    ),
    path(
        "events/<slug:slug>/retro/finalize/",
        finalize_views.finalize_page,
        name="meeting-finalize",
    ),
    path("events/<slug:slug>/retro/reopen/", finalize_views.reopen_page, name="meeting-reopen"),
    path("events/<slug:slug>/actions/", views.actions_event, name="actions-event"),
    path("actions/", views.actions_all, name="actions-all"),
    path("actions/<uuid:pk>/status/", views.action_status, name="actions-status"),
]
