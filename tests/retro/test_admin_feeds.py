"""The admin's feed form: several upstream feeds, with the same refusals as the API."""

from retro.models import Feed


def form(feed, upstreams) -> dict:
    return {
        "event": feed.event_id,
        "slug": feed.slug,
        "name": feed.name,
        "kind": feed.kind,
        "language": feed.language,
        "stage": feed.stage,
        "session": feed.session_id or "",
        "origin": feed.origin_id or "",
        "destination": feed.destination_id or "",
        "transport": feed.transport,
        "path": feed.path,
        "source_ids": "[]",
        "derived_from": ",".join(str(u.pk) for u in upstreams),
    }


def test_the_admin_sets_two_upstreams_and_refuses_a_loop(admin_client, event):
    contrib_b = Feed.objects.create(
        event=event, slug="kn1-contrib-b", name="B", stage="contribution", path="B"
    )
    program = event.feeds.get(slug="kn1-program")
    url = f"/admin/retro/feed/{program.pk}/change/"
    both = [event.feeds.get(slug="kn1-contrib-a"), contrib_b]
    response = admin_client.post(url, form(program, both))
    assert response.status_code == 302
    assert sorted(program.derived_from.values_list("slug", flat=True)) == [
        "kn1-contrib-a",
        "kn1-contrib-b",
    ]
    contrib_a = event.feeds.get(slug="kn1-contrib-a")
    looped = admin_client.post(
        f"/admin/retro/feed/{contrib_a.pk}/change/",
        form(contrib_a, [event.feeds.get(slug="kn1-asl")]),
    )
    assert looped.status_code == 200
    assert "cannot be derived from itself" in looped.content.decode()
    assert not contrib_a.derived_from.exists()
