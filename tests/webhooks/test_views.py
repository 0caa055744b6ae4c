"""The webhooks and chat users section of the event settings page (leads)."""

from webhooks.models import ChatIdentity, Webhook


def test_the_settings_page_lists_webhooks_and_chat_users(lead_client, lead, operator, event):
    Webhook.objects.create(
        event=event, url="https://93.184.216.34/in", events=["entry.created"], secret="hidden-s"
    )
    ChatIdentity.objects.create(event=event, team_id="T0TEAM", chat_user_id="U0OPER", user=operator)
    page = lead_client.get("/events/summit/settings/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="webhooks"' in html and "https://93.184.216.34/in" in html
    assert "hidden-s" not in html  # the secret is never shown again
    assert "U0OPER" in html and "operator1" in html


def test_a_lead_adds_a_webhook_from_the_page_and_sees_the_secret_once(lead_client, event):
    response = lead_client.post(
        "/events/summit/webhooks/add/",
        {
            "url": "https://93.184.216.34/in",
            "format": "slack",
            "events": ["entry.created", "anomaly.opened"],
        },
    )
    assert response.status_code == 200
    webhook = Webhook.objects.get()
    assert webhook.events == ["entry.created", "anomaly.opened"] and webhook.format == "slack"
    assert webhook.secret in response.content.decode()


def test_a_forbidden_url_from_the_page_goes_back_with_the_reason(lead_client, event):
    response = lead_client.post(
        "/events/summit/webhooks/add/",
        {"url": "http://169.254.169.254/latest", "events": ["entry.created"]},
        follow=True,
    )
    assert "metadata" in response.content.decode()
    assert not Webhook.objects.exists()


def test_turning_off_and_removing_from_the_page(lead_client, event):
    webhook = Webhook.objects.create(
        event=event, url="https://93.184.216.34/in", events=["entry.created"], secret="s"
    )
    lead_client.post(f"/webhooks/{webhook.pk}/toggle/")
    assert Webhook.objects.get().active is False
    page = lead_client.get(f"/webhooks/{webhook.pk}/deliveries/")
    assert page.status_code == 200
    lead_client.post(f"/webhooks/{webhook.pk}/delete/")
    assert not Webhook.objects.exists()


def test_operators_and_outsiders_are_kept_out(operator_client, event, client):
    webhook = Webhook.objects.create(
        event=event, url="https://93.184.216.34/in", events=["entry.created"], secret="s"
    )
    assert operator_client.get(f"/webhooks/{webhook.pk}/deliveries/").status_code == 403
    assert operator_client.post(f"/webhooks/{webhook.pk}/delete/").status_code == 403
    assert (
        operator_client.post(
            "/events/summit/webhooks/add/",
            {"url": "https://93.184.216.34/", "events": ["entry.created"]},
        ).status_code
        == 403
    )
    assert Webhook.objects.count() == 1


def test_a_lead_maps_a_chat_user_from_the_page(lead_client, operator, event):
    lead_client.post(
        "/events/summit/chat-users/add/",
        {"team_id": "T0TEAM", "chat_user_id": "U0OPER", "username": "operator1"},
    )
    identity = ChatIdentity.objects.get()
    assert identity.user == operator
    lead_client.post(f"/chat-users/{identity.pk}/delete/")
    assert not ChatIdentity.objects.exists()
