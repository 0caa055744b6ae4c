from django.urls import path

from . import api, finalize_api, loop_api, showclock_views

urlpatterns = [
    path("events/", api.EventListApi.as_view(), name="api-events"),
    path("events/<slug:slug>/", api.EventDetailApi.as_view(), name="api-event"),
    path("events/<slug:slug>/sessions/", api.SessionListApi.as_view(), name="api-sessions"),
    path(
        "events/<slug:slug>/show-clock/",
        showclock_views.ShowClockApi.as_view(),
        name="api-show-clock",
    ),
    path(
        "events/<slug:slug>/sessions/<slug:session>/on-air/",
        showclock_views.SessionMarkApi.as_view(what="on-air"),
        name="api-session-on-air",
    ),
    path(
        "events/<slug:slug>/sessions/<slug:session>/off-air/",
        showclock_views.SessionMarkApi.as_view(what="off-air"),
        name="api-session-off-air",
    ),
    path("events/<slug:slug>/feeds/", api.FeedListApi.as_view(), name="api-feeds"),
    path("events/<slug:slug>/feeds/<slug:feed>/", api.FeedDetailApi.as_view(), name="api-feed"),
    path("events/<slug:slug>/entries/", api.EntryListApi.as_view(), name="api-entries"),
    path("events/<slug:slug>/actions/", api.EventActionListApi.as_view(), name="api-event-actions"),
    path("entries/<uuid:pk>/", api.EntryDetailApi.as_view(), name="api-entry"),
    path("entries/<uuid:pk>/restore/", api.EntryRestoreApi.as_view(), name="api-entry-restore"),
    path("actions/", api.ActionListApi.as_view(), name="api-actions"),
    path("events/<slug:slug>/next/", loop_api.EventNextApi.as_view(), name="api-event-next"),
    path(
        "events/<slug:slug>/retro/finalize/",
        finalize_api.RetroFinalizeApi.as_view(),
        name="api-retro-finalize",
    ),
    path(
        "events/<slug:slug>/retro/reopen/",
        finalize_api.RetroReopenApi.as_view(),
        name="api-retro-reopen",
    ),
    path("events/<slug:slug>/similar/", loop_api.EventSimilarApi.as_view(), name="api-similar"),
    path(
        "entries/<uuid:pk>/decision/",
        loop_api.LearningDecisionApi.as_view(),
        name="api-entry-decision",
    ),
    path(
        "entries/<uuid:pk>/recurrence/",
        loop_api.EntryRecurrenceApi.as_view(),
        name="api-entry-recurrence",
    ),
]
