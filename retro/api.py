"""REST API for events and their signal path; the same selectors and services as the views."""

from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated

from . import selectors
from .models import Event


class EventSerializer(serializers.ModelSerializer):
    class Meta:
        model = Event
        fields = ["slug", "name", "venue", "time_zone", "start", "end", "state"]


class EventListApi(generics.ListAPIView):
    """Events the caller is a member of."""

    serializer_class = EventSerializer
    permission_classes = [IsAuthenticated]

    def get_queryset(self):
        return selectors.events_for_user(self.request.user).order_by("-start")


class EventDetailApi(generics.RetrieveAPIView):
    """One event, if the caller may see it."""

    serializer_class = EventSerializer

    def get_object(self):
        return selectors.event_for_user(self.request.user, self.kwargs["slug"])
