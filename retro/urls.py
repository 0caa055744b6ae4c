from django.urls import path

from . import board_live, loop_views, showclock_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("events/<slug:slug>/", views.event_detail, name="event-detail"),
    path("events/<slug:slug>/settings/", views.event_settings, name="event-settings"),
    path(
        "events/<slug:slug>/settings/remove/<str:username>/",
        views.remove_member,
        name="event-remove-member",
    ),
    path("events/<slug:slug>/rundown/", views.upload_rundown, name="event-rundown"),
    path("events/<slug:slug>/board/", views.board, name="event-board"),
    path("events/<slug:slug>/board/changes/", views.board_changes, name="event-board-changes"),
    path("events/<slug:slug>/board/parts/", board_live.board_parts, name="event-board-parts"),
    path("events/<slug:slug>/show-clock/", showclock_views.clock, name="show-clock"),
    path(
        "events/<slug:slug>/sessions/<slug:session>/<slug:what>/",
        showclock_views.mark,
        name="session-mark",
    ),
    path("entries/<uuid:pk>/", views.entry_detail, name="entry-detail"),
    path("entries/<uuid:pk>/edit/", views.entry_edit, name="entry-edit"),
    path("entries/<uuid:pk>/edit/form/", views.entry_edit_form, name="entry-edit-form"),
    path("events/<slug:slug>/next/", loop_views.plan_next, name="event-plan-next"),
    path(
        "entries/<uuid:pk>/recurrence/",
        loop_views.link_recurrence,
        name="entry-link-recurrence",
    ),
]
