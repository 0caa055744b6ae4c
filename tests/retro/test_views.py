"""HTML pages of the foundation: home, event, settings; outsiders see nothing."""

import pytest


def test_anonymous_is_sent_to_login(client, event):
    response = client.get(f"/events/{event.slug}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_home_lists_my_events_with_counts(viewer_client, event, other_event):
    response = viewer_client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert event.name in page and other_event.name not in page
    assert response.context["events"][0].feed_count == 3


def test_event_page_groups_feeds_by_stage(viewer_client, event):
    response = viewer_client.get(f"/events/{event.slug}/")
    assert response.status_code == 200
    groups = response.context["feeds_by_stage"]
    assert [f.slug for f in groups["Contribution"]] == ["kn1-contrib-a"]
    assert {f.slug for f in groups["Distribution"]} == {"kn1-program", "kn1-asl"}


def test_outsider_gets_404_for_an_event(outsider_client, event):
    assert outsider_client.get(f"/events/{event.slug}/").status_code == 404


@pytest.mark.parametrize("who,status", [("viewer_client", 403), ("lead_client", 200)])
def test_only_leads_manage_members(request, event, who, status):
    client = request.getfixturevalue(who)
    assert client.get(f"/events/{event.slug}/settings/").status_code == status


def test_lead_changes_a_role_and_it_is_audited(lead_client, viewer, event):
    response = lead_client.post(
        f"/events/{event.slug}/settings/", {"username": viewer.username, "role": "operator"}
    )
    assert response.status_code == 302
    assert event.memberships.get(user=viewer).role == "operator"
    line = event.audit_log.get(
        action="membership.set", summary__contains=viewer.username, actor__isnull=False
    )
    assert line.changes == {"role": ["viewer", "operator"]}


def test_last_lead_cannot_be_removed(lead_client, lead, event):
    lead_client.post(f"/events/{event.slug}/settings/remove/{lead.username}/")
    assert event.memberships.filter(user=lead, role="lead").exists()


def test_times_show_viewer_zone_and_event_zone(viewer_client, event):
    viewer_client.cookies["tally_tz"] = "Europe/Dublin"
    page = viewer_client.get(f"/events/{event.slug}/").content.decode()
    # keynote at 17:00 UTC: 17:00 GMT for a viewer in Dublin, 09:00 PST at the venue
    assert "17:00 GMT" in page
    assert "09:00 PST" in page


def test_security_headers_on_pages(viewer_client, event):
    response = viewer_client.get("/")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert (
        "unsafe-inline"
        not in response["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"


def test_viewer_zone_cookie_as_the_browser_sends_it(viewer_client, event):
    viewer_client.cookies["tally_tz"] = "Europe%2FDublin"  # encodeURIComponent in tz.js
    page = viewer_client.get(f"/events/{event.slug}/").content.decode()
    assert "17:00 GMT" in page
