"""REST API for an event's webhooks and chat users (leads only); the same services and
selectors as the settings page. Outsiders get 404, members below lead 403."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from retro import selectors as retro_selectors
from retro.models import Role

from . import chat, selectors, services
from .models import ChatIdentity, Delivery, Webhook


class WebhookSerializer(serializers.ModelSerializer):
    event = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Webhook
        fields = [
            "id",
            "event",
            "url",
            "format",
            "events",
            "active",
            "created_by",
            "created_at",
            "failing_since",
            "disabled_at",
            "disabled_reason",
        ]


class WebhookCreatedSerializer(WebhookSerializer):
    """The answer to a create: the only time the secret is shown."""

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class WebhookInputSerializer(serializers.Serializer):
    """Shapes only; the service checks the URL (scheme, resolution, address) and the names."""

    url = serializers.CharField(max_length=2000)
    format = serializers.CharField(required=False, default="json")
    events = serializers.ListField(child=serializers.CharField(max_length=40), max_length=20)
    active = serializers.BooleanField(required=False)


class EventWebhooksApi(APIView):
    """GET lists the event's webhooks; POST adds one ({url, format, events}) and answers its
    secret, once."""

    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request, slug):
        event = retro_selectors.event_for_user(request.user, slug, Role.LEAD)
        return Response(WebhookSerializer(selectors.webhooks_of(event), many=True).data)

    @extend_schema(request=WebhookInputSerializer, responses={201: WebhookCreatedSerializer})
    def post(self, request, slug):
        event = retro_selectors.event_for_user(request.user, slug, Role.LEAD)
        data = WebhookInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {k: v for k, v in data.validated_data.items() if k != "active"}
        webhook = services.create_webhook(event=event, actor=request.user, **values)
        return Response(WebhookCreatedSerializer(webhook).data, status=status.HTTP_201_CREATED)


class WebhookDetailApi(APIView):
    """One webhook: GET, PATCH (url, format, events, active), DELETE."""

    @extend_schema(responses=WebhookSerializer)
    def get(self, request, pk):
        return Response(WebhookSerializer(selectors.webhook_for_user(request.user, pk)).data)

    @extend_schema(request=WebhookInputSerializer, responses=WebhookSerializer)
    def patch(self, request, pk):
        webhook = selectors.webhook_for_user(request.user, pk)
        data = WebhookInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        extra = set(request.data) - set(WebhookInputSerializer().fields)
        if extra:
            raise ValidationError({name: "This field cannot be changed." for name in extra})
        webhook = services.update_webhook(
            webhook=webhook, actor=request.user, **data.validated_data
        )
        return Response(WebhookSerializer(webhook).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        webhook = selectors.webhook_for_user(request.user, pk)
        services.delete_webhook(webhook=webhook, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliverySerializer(serializers.ModelSerializer):
    event = serializers.CharField(source="event_name")
    id = serializers.UUIDField(source="uuid")

    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "state",
            "status_code",
            "attempts",
            "last_error",
            "created_at",
            "first_attempt_at",
            "last_attempt_at",
            "next_attempt_at",
            "delivered_at",
        ]


class WebhookDeliveriesApi(generics.ListAPIView):
    """The webhook's deliveries, newest first, each with its status code and attempts."""

    serializer_class = DeliverySerializer

    def get_queryset(self):
        webhook = selectors.webhook_for_user(self.request.user, self.kwargs["pk"])
        return webhook.deliveries.all()


# --- Chat users -----------------------------------------------------------------------------


class ChatIdentitySerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.all()
    )

    class Meta:
        model = ChatIdentity
        fields = ["id", "team_id", "chat_user_id", "user", "created_at"]
        read_only_fields = ["id", "created_at"]
        validators = []  # the service refuses a second mapping with a field message


class EventChatUsersApi(APIView):
    """GET the event's chat users (Slack workspace + user id -> Tally user); POST maps one."""

    @extend_schema(responses=ChatIdentitySerializer(many=True))
    def get(self, request, slug):
        event = retro_selectors.event_for_user(request.user, slug, Role.LEAD)
        identities = selectors.chat_identities_of(event)
        return Response(ChatIdentitySerializer(identities, many=True).data)

    @extend_schema(request=ChatIdentitySerializer, responses={201: ChatIdentitySerializer})
    def post(self, request, slug):
        event = retro_selectors.event_for_user(request.user, slug, Role.LEAD)
        data = ChatIdentitySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        identity = chat.map_chat_user(event=event, actor=request.user, **data.validated_data)
        return Response(ChatIdentitySerializer(identity).data, status=status.HTTP_201_CREATED)


class ChatUserDetailApi(APIView):
    """GET or DELETE a chat user's mapping."""

    @extend_schema(responses=ChatIdentitySerializer)
    def get(self, request, pk):
        identity = selectors.chat_identity_for_user(request.user, pk)
        return Response(ChatIdentitySerializer(identity).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        identity = selectors.chat_identity_for_user(request.user, pk)
        chat.unmap_chat_user(identity=identity, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
