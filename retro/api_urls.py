from django.urls import path

from . import api

urlpatterns = [
    path("events/", api.EventListApi.as_view(), name="api-events"),
    path("events/<slug:slug>/", api.EventDetailApi.as_view(), name="api-event"),
]
