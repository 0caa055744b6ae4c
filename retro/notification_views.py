"""Each person chooses which notifications they get by email: a page and an API, one service
(retro.notifications)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import notifications


@login_required
def notification_settings(request):
    """The signed-in person's mail choices: a checkbox per kind of notification."""
    if request.method == "POST":
        choices = {kind: kind in request.POST for kind in notifications.Kind.values}
        notifications.set_mail_preferences(user=request.user, **choices)
        messages.success(request, "Mail choices saved.")
        return redirect("notification-settings")
    wanted = notifications.mail_preferences(request.user)
    kinds = [(kind, label, wanted[kind]) for kind, label in notifications.Kind.choices]
    return render(request, "retro/notifications.html", {"kinds": kinds})


class NotificationsSerializer(serializers.Serializer):
    action_reminder = serializers.BooleanField(required=False)
    weekly_digest = serializers.BooleanField(required=False)
    webhook_disabled = serializers.BooleanField(required=False)


class MyNotificationsApi(APIView):
    """GET which notifications you get by email; PATCH {kind: true|false} to change them."""

    @extend_schema(responses=NotificationsSerializer)
    def get(self, request):
        return Response(notifications.mail_preferences(request.user))

    @extend_schema(request=NotificationsSerializer, responses=NotificationsSerializer)
    def patch(self, request):
        unknown = set(request.data) - set(notifications.Kind.values)
        data = NotificationsSerializer(data=request.data)
        if unknown:
            raise serializers.ValidationError(
                {
                    name: [f"Unknown notification; use {', '.join(notifications.Kind.values)}."]
                    for name in sorted(unknown)
                }
            )
        data.is_valid(raise_exception=True)
        return Response(
            notifications.set_mail_preferences(user=request.user, **data.validated_data)
        )
