"""The audit log: leads see their event's, admins see everything, others nothing."""

from retro import services


def test_lead_sees_the_events_audit_log(lead_client, lead, viewer, event):
    services.set_membership(event=event, user=viewer, role="operator", actor=lead)
    response = lead_client.get(f"/events/{event.slug}/audit/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "membership.set" in page and "viewer1 is now operator" in page


def test_operator_and_outsider_cannot_read_the_audit_log(operator_client, event, client, outsider):
    assert operator_client.get(f"/events/{event.slug}/audit/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/events/{event.slug}/audit/").status_code == 404


def test_admin_wide_view_is_for_admins_only(client, admin_user, lead_client, lead, viewer, event):
    services.set_membership(event=event, user=viewer, role="lead", actor=lead)
    assert lead_client.get("/audit/").status_code == 403
    client.force_login(admin_user)
    response = client.get("/audit/?action=membership.")
    assert response.status_code == 200
    assert "viewer1 is now lead" in response.content.decode()
