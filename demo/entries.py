"""Demo retro entries: about 300 wins, learnings and actions over the demo event, written the
way the operations team writes them, and last year's closed event whose open actions carry
over. Everything goes through retro.services and retro.meeting, so validation applies.

Idempotent: every entry has a deterministic id (uuid5), so log_entry returns the existing
entry on a second run, and later changes (status, due date, votes, merge) are only made when
they are not already there. The entries cover the sessions that were over when the demo was
first loaded (Event.created_at), so a live board never shows entries from the future.
"""

import random
import uuid
import zoneinfo
from datetime import date, datetime, time, timedelta

import yaml
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from retro import finalize, loop, meeting, planning, services
from retro.models import Entry, Event, Membership, NoChangeDecision, Role, Site, Vote
from retro.rundown import import_rundown

from .signal_path import (
    DEMO_SLUG,
    SITES,
    SOCIAL_PLATFORMS,
    SUBTITLE_LANGUAGES,
    TRANSLATION_LANGUAGES,
)
from .telemetry import incidents

NAMESPACE = uuid.UUID("6f1c2b8e-2f57-4d9e-9a51-7d0c3f5e1a42")
TARGET = 300
LAST_YEAR_SLUG = "summit-2025"
EXTRA_OPERATORS = [
    ("dublin-ops", "mon-dublin"),
    ("nyc-ops", "bcr-nyc"),
    ("vegas-mon", "mon-venue"),
]
# Who writes about which stage (the people who watch it).
WRITERS = {
    "contribution": ["operator", "vegas-mon", "operator", "dublin-ops"],
    "transmission": ["nyc-ops", "lead", "dublin-ops"],
    "distribution": ["nyc-ops", "lead", "dublin-ops", "vegas-mon"],
    "handoff": ["dublin-ops", "lead", "nyc-ops"],
}
LANGUAGE_NAMES = {
    "es": "Spanish",
    "fr": "French",
    "de": "German",
    "it": "Italian",
    "pt": "Portuguese",
    "ja": "Japanese",
    "ko": "Korean",
    "zh": "Chinese",
    "hi": "Hindi",
    "ar": "Arabic",
    "id": "Indonesian",
    "nl": "Dutch",
    "pl": "Polish",
    "tr": "Turkish",
    "vi": "Vietnamese",
}

# (kind, stage, feed suffix, impact, tags, shareable, body). The feed suffix is appended to the
# session slug ("contrib-a" -> "kn1-contrib-a"); "*" marks a feed outside any session.
# Bodies are Markdown with {title}, {lang}, {language}, {platform}, {n}, {m}, {ms} filled in.
SESSION_LINES = [
    (
        "win",
        "contribution",
        "contrib-b",
        "",
        ["failover", "srt"],
        True,
        "Clean failover to the **B path** during {title}: viewers saw nothing, "
        "program kept running off contribution B for {n} min while A was re-seated.",
    ),
    (
        "win",
        "contribution",
        "contrib-a",
        "",
        ["srt"],
        False,
        "Contribution A rock solid for all of {title}: 0 packets lost after ARQ, "
        "RTT steady at {ms} ms.",
    ),
    (
        "learning",
        "contribution",
        "contrib-a",
        "caught",
        ["srt", "latency"],
        True,
        "SRT latency of 120 ms is too tight for the transatlantic hop: {m} retransmits/s at peak "
        "and a handful of drops before air. Needs ~4x RTT.",
    ),
    (
        "action",
        "contribution",
        "contrib-a",
        "",
        ["srt", "latency"],
        False,
        "Raise SRT latency to **2000 ms** on the transatlantic contribution path and retest "
        "with `srt-live-transmit -s:1000` stats before doors.",
    ),
    (
        "learning",
        "contribution",
        "contrib-b",
        "none",
        ["encoder"],
        False,
        "Encoder B fans were loud on the stage-left rack; temp hit {n}°C by the end of {title}. "
        "No impact, but it is one hot afternoon away from throttling.",
    ),
    (
        "win",
        "contribution",
        "contrib-a",
        "",
        ["rehearsal"],
        False,
        "Pre-show checklist for {title} done 25 min before doors, both paths green, "
        "timecode matched on A and B.",
    ),
    (
        "learning",
        "contribution",
        "contrib-b",
        "caught",
        ["network", "venue"],
        False,
        "Venue IT moved our uplink VLAN without telling us; contribution B dropped for {n} s "
        "during the walk-in. Caught on the multiviewer before air.",
    ),
    (
        "win",
        "transmission",
        "tx",
        "",
        ["cloud"],
        True,
        "Transmission flow for {title} held at {m} Mb/s with zero not-recovered packets.",
    ),
    (
        "learning",
        "transmission",
        "tx",
        "none",
        ["cloud", "monitoring"],
        False,
        "The flow's source-failover alert fired twice on a single 200 ms blip; our threshold "
        "is noisier than the thing it protects.",
    ),
    (
        "action",
        "transmission",
        "tx",
        "",
        ["monitoring"],
        False,
        "Tune the MediaConnect source-failover alarm: alert on > 2 s of loss, not on any blip.",
    ),
    (
        "learning",
        "transmission",
        "tx",
        "caught",
        ["cloud", "network"],
        True,
        "Continuity-counter errors on the transmission flow for ~{n} s (TR 101 290 priority 1); "
        "the backbone recovered by itself before it reached the program.",
    ),
    (
        "win",
        "distribution",
        "program",
        "",
        ["medialive"],
        True,
        "Program output for {title}: both pipelines in sync, no input switches, "
        "{n} min on air without a single alert.",
    ),
    (
        "learning",
        "distribution",
        "program",
        "caught",
        ["medialive", "slate"],
        False,
        "Holding slate was still on pipeline 1 when the session started; "
        "switched {n} s before the first word. Add the slate check to the T-5 call.",
    ),
    (
        "win",
        "distribution",
        "asl",
        "",
        ["asl", "accessibility"],
        True,
        "ASL interpreter feed up and framed correctly for {title}; the interpreter said "
        "the return monitor was the best they have had.",
    ),
    (
        "learning",
        "distribution",
        "asl",
        "on_air",
        ["asl", "accessibility"],
        True,
        "ASL feed picture froze for {n} s at the top of {title}: the interpreter's "
        "camera encoder was on battery. On air.",
    ),
    (
        "learning",
        "distribution",
        "captions-en",
        "on_air",
        ["captions", "drift"],
        True,
        "AI English captions drifted to **{n} s** behind speech in the second half of {title}. "
        "Restarting the caption engine brought it back to ~2 s.",
    ),
    (
        "action",
        "distribution",
        "captions-en",
        "",
        ["captions", "drift"],
        False,
        "Add a caption-delay monitor that alerts above 5 s and document the engine restart "
        "in the distribution runbook.",
    ),
    (
        "win",
        "distribution",
        "captions-en",
        "",
        ["captions"],
        False,
        "Caption accuracy on {title} was excellent; product names from the glossary all came "
        "out right.",
    ),
    (
        "learning",
        "distribution",
        "subs-{lang}",
        "on_air",
        ["subtitles", "{lang}"],
        True,
        "{language} subtitles missing for the first {n} min of {title}: the language was not "
        "enabled on the subtitle job. Viewers reported it in chat.",
    ),
    (
        "action",
        "distribution",
        "subs-{lang}",
        "",
        ["subtitles"],
        False,
        "Generate the subtitle job's language list from the rundown instead of clicking it "
        "together; check all 15 before each session.",
    ),
    (
        "win",
        "distribution",
        "subs-{lang}",
        "",
        ["subtitles"],
        False,
        "{language} subtitles tracked well on {title}; native speaker on the Dublin desk spot "
        "checked {n} minutes and found two small errors.",
    ),
    (
        "learning",
        "distribution",
        "subs-{lang}",
        "none",
        ["subtitles"],
        False,
        "{language} subtitle line length is too long for mobile: two-line cues wrap to three "
        "on phones.",
    ),
    (
        "learning",
        "handoff",
        "ott",
        "caught",
        ["ott", "partner"],
        True,
        "Partner platform's HLS ingest rejected {n} segments with a 4xx for ~30 s; their side "
        "retried and the player never stalled.",
    ),
    (
        "win",
        "handoff",
        "ott",
        "",
        ["ott", "partner"],
        True,
        "OTT handoff for {title} clean end to end; partner confirmed {m}k concurrent viewers "
        "with no rebuffering spike.",
    ),
    (
        "action",
        "handoff",
        "ott",
        "",
        ["ott", "partner"],
        False,
        "Agree with the partner on a shared dashboard for ingest errors (segment 4xx/5xx) "
        "before the next event.",
    ),
    (
        "learning",
        "handoff",
        "ott",
        "none",
        ["ott"],
        False,
        "The DASH manifest had a stale `availabilityStartTime` after the pipeline restart; "
        'players coped, but only just.\n\n```\navailabilityStartTime="…T15:00:00Z"\n```',
    ),
]
KEYNOTE_LINES = [
    (
        "learning",
        "distribution",
        "simulcast-{platform}",
        "on_air",
        ["simulcast", "{platform}"],
        True,
        "{platform_name} simulcast rejected the stream key at the start of {title}: the key had "
        "been rotated by the social team. {n} min without the {platform_name} stream.",
    ),
    (
        "action",
        "distribution",
        "simulcast-{platform}",
        "",
        ["simulcast"],
        False,
        "Get simulcast stream keys frozen 48 h before the event, with one owner per platform, "
        "and test each key in the rehearsal.",
    ),
    (
        "win",
        "distribution",
        "simulcast-{platform}",
        "",
        ["simulcast"],
        True,
        "{platform_name} simulcast of {title} started on cue and ran clean; {m}k peak viewers.",
    ),
    (
        "learning",
        "distribution",
        "audio-{tlang}",
        "caught",
        ["translation", "audio"],
        False,
        "{tlanguage} translation audio arrived with its channels swapped (interpreter on the "
        "right only). Fixed with a remap before the keynote went live.",
    ),
    (
        "win",
        "distribution",
        "audio-{tlang}",
        "",
        ["translation"],
        True,
        "All five translation audio tracks were in sync with the program for {title} "
        "(lip-sync offset under 40 ms).",
    ),
    (
        "learning",
        "contribution",
        "contrib-a",
        "none",
        ["keynote", "rehearsal"],
        False,
        "Keynote rehearsal ran 20 min long, so our line-up check moved into the doors window. "
        "Next time hold our 15 minutes in the run of show.\n\n"
        "| check | planned | done |\n|---|---|---|\n| A/B line-up | T-45 | T-12 |\n"
        "| slate | T-30 | T-10 |",
    ),
]
GENERAL_LINES = [
    (
        "learning",
        "distribution",
        "*hotel-alternate",
        "on_air",
        ["hotel", "playout"],
        True,
        "Hotel feed playout switched to live {n} s late after the break; hotel rooms saw the "
        "end of the sponsor loop over the first line of the talk.",
    ),
    (
        "action",
        "distribution",
        "*hotel-alternate",
        "",
        ["hotel", "playout"],
        False,
        "Drive the hotel playout switch from the rundown's on-air time instead of a manual cue.",
    ),
    (
        "win",
        "distribution",
        "*hotel-alternate",
        "",
        ["hotel"],
        False,
        "Hotel alternate ran the overnight playout loop without a gap; schedule handover at "
        "06:00 was seamless.",
    ),
    (
        "learning",
        "distribution",
        "*asl-venue-return",
        "on_air",
        ["asl", "srt", "packet-loss"],
        True,
        "Packet loss on the **sign-language return** to the venue: {m} packets lost in a minute "
        "on the SRT return, picture blocked on the stage screen. Latency was still 120 ms.",
    ),
    (
        "action",
        "distribution",
        "*asl-venue-return",
        "",
        ["asl", "srt"],
        False,
        "Raise the ASL venue return to 800 ms SRT latency and add it to the telemetry watch "
        "list with its own loss alarm.",
    ),
    (
        "win",
        "distribution",
        "*asl-venue-return",
        "",
        ["asl"],
        True,
        "ASL venue return clean all afternoon after the latency change; stage manager happy.",
    ),
    (
        "learning",
        "",
        "",
        "none",
        ["handover", "process"],
        False,
        "Shift handover NYC → Dublin at 02:00 ET worked, but the open-issues list lived in a "
        "chat thread. Keep it here instead, tagged `#handover`.",
    ),
    (
        "win",
        "",
        "",
        "",
        ["team"],
        True,
        "Four sites, three time zones, and every call-out on the coordination bridge answered "
        "within seconds. Great discipline today.",
    ),
    (
        "learning",
        "",
        "",
        "none",
        ["monitoring"],
        False,
        "The multiviewer in Dublin shows the program a few seconds later than NYC sees it; "
        "say *which* monitor you are looking at when you call a problem.",
    ),
    (
        "action",
        "",
        "",
        "",
        ["process"],
        False,
        "Write a one-page call-out protocol (feed slug, site, what you see, since when) and "
        "pin it in every control room.",
    ),
]
INCIDENT_LINES = {
    "packet_loss_burst": (
        "learning",
        "contribution",
        "caught",
        ["srt", "packet-loss", "transatlantic"],
        "Packet-loss burst on contribution **B** (rerouted via Dublin): up to ~180 lost per "
        "record and RTT 70 → 165 ms for about six minutes. ARQ kept up at 2000 ms latency; "
        "at last year's 120 ms this would have been on air.",
    ),
    "encoder_restart": (
        "win",
        "contribution",
        "",
        ["failover", "encoder"],
        "Encoder B restarted mid-keynote and came back in 40 s; program stayed on path A "
        "the whole time. Exactly what the dual path is for.",
    ),
    "medialive_input_loss": (
        "learning",
        "distribution",
        "caught",
        ["medialive", "failover"],
        "MediaLive raised input loss on pipeline 1 of the program channel (fed by "
        "contribution B) for ~35 s. Pipeline 0 carried the output; the alert cleared on its "
        "own. Worth a line in the failover runbook.",
    ),
}


HEADLINES = (
    "Clean failover",
    "Raise SRT latency",
    "drifted",
    "subtitles missing",
    "rejected the stream key",
)


def _id(*parts) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, ":".join(str(p) for p in parts))


def _fill(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


class _Loader:
    """Writes one event's demo entries; counts what it created."""

    def __init__(self, event: Event, people: dict):
        self.event = event
        self.today = timezone.localdate(timezone=event.tz)
        # Due dates are planned from the day the demo was first loaded, so reruns agree.
        self.anchor = event.created_at.astimezone(event.tz).date()
        self.day_one = event.start.astimezone(event.tz).date()
        self.cutoff = min(event.created_at, event.end)
        self.people = people
        self.sites = {
            m.user.username: m.site for m in event.memberships.select_related("user", "site")
        }
        self.feeds = {f.slug: f for f in event.feeds.all()}
        self.created = 0

    def log(self, key, *, kind, author, body, feeds=(), **fields) -> Entry:
        user = self.people[author]
        entry, created = services.log_entry(
            event=self.event,
            author=user,
            kind=kind,
            body=body,
            client_id=_id(self.event.slug, key),
            feeds=[self.feeds[f] for f in feeds if f in self.feeds],
            site=self.sites.get(author),
            **fields,
        )
        self.created += created
        return entry

    def action(self, key, *, author, owner, body, due, status, learning=None, **fields) -> Entry:
        """An action with the given due date and status, whatever 'today' was at creation."""
        creatable_due = max(due, self.today)
        if learning is not None:
            self.created += not Entry.objects.filter(pk=_id(self.event.slug, key)).exists()
            entry = meeting.promote_learning_to_action(
                learning=learning,
                actor=self.people[author],
                owner=self.people[owner],
                due=creatable_due,
                body=body,
                client_id=_id(self.event.slug, key),
            )
        else:
            entry = self.log(
                key,
                kind="action",
                author=author,
                body=body,
                owner=self.people[owner],
                due=creatable_due,
                **fields,
            )
        return _ensure(entry, self.people[author], due=due, status=status)


def _ensure(entry: Entry, actor, **wanted) -> Entry:
    """Change only what differs, so a second run edits nothing (and a final retro is left be)."""
    changes = {k: v for k, v in wanted.items() if getattr(entry, k) != v}
    if set(changes) == {"status"}:
        return services.set_action_status(entry=entry, status=changes["status"], actor=actor)
    if changes:
        return services.edit_entry(entry=entry, editor=actor, version=entry.version, **changes)
    return entry


def _people() -> dict:
    """The demo users who write entries, creating the extra operators of other sites."""
    User = get_user_model()
    event = Event.objects.get(slug=DEMO_SLUG)
    for username, site_slug in EXTRA_OPERATORS:
        user, made = User.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.tally.local"}
        )
        if made:
            user.set_password(settings.TALLY_DEMO_PASSWORD)
            user.save()
        Membership.objects.get_or_create(
            event=event,
            user=user,
            defaults={"role": Role.OPERATOR, "site": Site.objects.filter(slug=site_slug).first()},
        )
    names = ["lead", "operator", "viewer"] + [name for name, _ in EXTRA_OPERATORS]
    return {u.username: u for u in User.objects.filter(username__in=names)}


def _schedule_status(number: int, rng: random.Random, today: date, day_one: date):
    """Status and due date of the n-th action: every status, some overdue, some due soon."""
    plan = number % 8
    if plan == 0:
        return Entry.Status.OPEN, day_one + timedelta(days=1)  # overdue
    if plan == 1:
        return Entry.Status.IN_PROGRESS, day_one  # overdue
    if plan == 2:
        return Entry.Status.OPEN, today + timedelta(days=1)  # reminder due
    if plan == 3:
        return Entry.Status.DONE, today + timedelta(days=rng.randint(3, 20))
    if plan == 4:
        return Entry.Status.DROPPED, today + timedelta(days=rng.randint(10, 40))
    if plan == 5:
        return Entry.Status.IN_PROGRESS, today + timedelta(days=rng.randint(5, 30))
    return Entry.Status.OPEN, today + timedelta(days=rng.randint(7, 60))


def _values(session, rng: random.Random) -> dict:
    lang = rng.choice(SUBTITLE_LANGUAGES)
    tlang = rng.choice(TRANSLATION_LANGUAGES)
    platform = rng.choice(SOCIAL_PLATFORMS)
    return {
        "title": session.title if session else "the break",
        "lang": lang,
        "language": LANGUAGE_NAMES[lang],
        "tlang": tlang,
        "tlanguage": LANGUAGE_NAMES[tlang],
        "platform": platform,
        "platform_name": {"youtube": "YouTube", "linkedin": "LinkedIn", "twitch": "Twitch"}[
            platform
        ],
        "n": rng.randint(3, 45),
        "m": rng.randint(8, 240),
        "ms": rng.randint(62, 95),
    }


def _write_line(loader, key, line, session, at, rng, action_number) -> Entry:
    kind, stage, feed, impact, tags, shareable, body = line
    values = _values(session, rng)
    author = rng.choice(WRITERS.get(stage or "distribution"))
    feed_slug = ""
    if feed:
        feed_slug = feed[1:] if feed.startswith("*") else f"{session.slug}-{_fill(feed, values)}"
    fields = {
        "occurred_at": at,
        "session": session,
        "stage": stage,
        "tags": [_fill(t, values) for t in tags],
        "shareable": shareable,
        "body": _fill(body, values),
        "feeds": [feed_slug] if feed_slug else [],
    }
    if kind == "learning":
        fields["impact"] = impact
    if kind != "action":
        return loader.log(key, kind=kind, author=author, **fields)
    status, due = _schedule_status(action_number, rng, loader.anchor, loader.day_one)
    owner = rng.choice(["operator", "nyc-ops", "dublin-ops", "lead", "vegas-mon"])
    return loader.action(key, author="lead", owner=owner, due=due, status=status, **fields)


def _session_entries(loader, sessions, per_session, rng) -> list[Entry]:
    entries = []
    action_number = 0
    for session in sessions:
        lines = list(SESSION_LINES)
        if session.kind == "keynote":
            lines += KEYNOTE_LINES
        srng = random.Random(f"{session.slug}")
        srng.shuffle(lines)
        if session.slug == "kn1":  # the opening keynote has the stories everybody retells
            lines.sort(key=lambda line: not any(h in line[6] for h in HEADLINES))
        window = session.scheduled_end - session.scheduled_start + timedelta(minutes=40)
        for number in range(per_session):
            line = lines[number % len(lines)]
            offset = timedelta(seconds=srng.randint(0, int(window.total_seconds())))
            at = session.scheduled_start - timedelta(minutes=25) + offset
            at = min(at, loader.cutoff - timedelta(minutes=1))
            if line[0] == "action":
                action_number += 1
            entries.append(
                _write_line(
                    loader, f"{session.slug}:{number}", line, session, at, srng, action_number
                )
            )
    return entries


def _incident_entries(loader, past_slugs) -> list[Entry]:
    """Entries about the demo telemetry's incidents, at their times."""
    found = incidents(loader.event)
    entries = []
    for number, incident in enumerate(found):
        feed = loader.feeds.get(incident["feed"])
        if feed is None or feed.session is None or feed.session.slug not in past_slugs:
            continue
        kind, stage, impact, tags, body = INCIDENT_LINES.get(
            incident["kind"],
            ("learning", feed.stage, "caught", ["incident"], incident["description"]),
        )
        entries.append(
            loader.log(
                f"incident:{number}:{incident['kind']}",
                kind=kind,
                author="nyc-ops" if stage != "contribution" else "operator",
                body=body,
                feeds=[feed.slug],
                occurred_at=incident["start"] + timedelta(minutes=2),
                session=feed.session,
                stage=stage,
                impact=impact if kind == "learning" else "",
                tags=tags,
                shareable=True,
            )
        )
    return entries


def _general_entries(loader, count, rng) -> list[Entry]:
    start = loader.event.start
    span = (loader.cutoff - start).total_seconds()
    entries = []
    for number in range(count):
        line = GENERAL_LINES[number % len(GENERAL_LINES)]
        at = start + timedelta(seconds=span * (number + 0.5) / count)
        entries.append(_write_line(loader, f"general:{number}", line, None, at, rng, number + 3))
    return entries


def _meeting_touches(loader, entries) -> None:
    """Votes from several people, a few learnings turned into actions, one merged duplicate."""
    if loader.event.retro_finalized:
        return
    learnings = [e for e in entries if e.kind == "learning" and e.merged_into_id is None]
    voters = [loader.people[n] for n in ("lead", "operator", "nyc-ops", "dublin-ops")]
    for number, entry in enumerate(learnings[:: max(1, len(learnings) // 25)]):
        for voter in voters[: 1 + number % len(voters)]:
            if not Vote.objects.filter(entry=entry, user=voter).exists():
                meeting.vote(entry=entry, user=voter)
    for number, learning in enumerate(learnings[3:60:9]):
        status, due = _schedule_status(
            number + 2, random.Random(number), loader.anchor, loader.day_one
        )
        loader.action(
            f"promoted:{learning.pk}",
            author="lead",
            owner=("operator", "nyc-ops", "dublin-ops")[number % 3],
            body=f"Follow up in the runbook: {learning.body.splitlines()[0][:160]}",
            due=due,
            status=status,
            learning=learning,
        )
    keep, dup = _duplicate_pair(loader, learnings)
    if keep is not None and dup.merged_into_id is None:
        meeting.merge_entries(keep=keep, duplicate=dup, actor=loader.people["lead"])


# Learnings the demo meeting decided need no change: (words in the body, why).
NO_CHANGE = [
    ("hotel", "The hotel feed is best-effort by contract; the partner accepted the gap."),
    (
        "caption",
        "The caption vendor shipped the fix after the event; nothing to change on our side.",
    ),
]


def _loop_touches(event: Event, last_year: Event, people: dict) -> str:
    """The learning loop on the demo: a few learnings decided "no change needed", and the
    learnings that read like last year's linked as recurrences of them."""
    if event.retro_finalized:
        return "retro finalized"
    learnings = list(loop.event_learnings(event).filter(actions__isnull=True))
    decided = 0
    for words, reason in NO_CHANGE:
        found = next((e for e in learnings if words in e.body.lower()), None)
        if found is not None and not NoChangeDecision.objects.filter(learning=found).exists():
            meeting.decide_no_change(learning=found, actor=people["lead"], reason=reason)
        decided += found is not None
    linked = 0
    visible = Event.objects.filter(pk=last_year.pk)
    for entry in learnings[:80]:
        for earlier in loop.similar_learnings(visible, event, entry.body, limit=1):
            planning.link_recurrence(entry=entry, earlier=earlier, actor=people["operator"])
            linked += 1
        if linked >= 3:
            break
    return f"{decided} no-change decisions, {linked} recurrences linked"


def _duplicate_pair(loader, learnings):
    """Two sites logged the ASL return loss: Dublin's entry is the duplicate."""
    keep = next((e for e in learnings if "sign-language return" in e.body), None)
    if keep is None:
        return None, None
    dup = loader.log(
        "duplicate:asl-return",
        kind="learning",
        author="dublin-ops",
        body="ASL return to the venue breaking up (SRT loss), seen on the Dublin multiviewer too.",
        feeds=["asl-venue-return"],
        occurred_at=keep.occurred_at + timedelta(minutes=1),
        stage="distribution",
        impact="on_air",
        tags=["asl", "dublin"],
    )
    return keep, dup


def load_entries(out=None) -> None:
    """Demo retro: ~300 entries on the demo event and last year's closed event."""
    event = Event.objects.filter(slug=DEMO_SLUG).first()
    if event is None:
        return
    with transaction.atomic():
        people = _people()
        last_year = _load_last_year(event, people)
        planning.record_follows(event=event, follows=last_year, actor=None)
        made = _load_demo_event(event, people)
        loop_notes = _loop_touches(event, last_year, people)
    if out:
        total = Entry.objects.filter(event=event).count()
        out(
            f"entries: {made} created, {total} on the demo event; "
            f"{Entry.objects.filter(event=last_year).count()} on {last_year.slug} (closed); "
            f"demo follows {last_year.slug}: {loop_notes}"
        )


def _load_demo_event(event: Event, people: dict) -> int:
    loader = _Loader(event, people)
    past = [s for s in event.sessions.all() if s.scheduled_end <= loader.cutoff]
    rng = random.Random(7)
    entries = _incident_entries(loader, {s.slug for s in past})
    general = 20
    promoted = 7  # learnings turned into actions by _meeting_touches
    left = TARGET - general - promoted - len(entries)
    per_session = max(4, -(-left // max(1, len(past))))
    entries += _session_entries(loader, past, per_session, rng)
    entries += _general_entries(loader, general, rng)
    _meeting_touches(loader, entries)
    return loader.created


# --- Last year's event ---------------------------------------------------------

LAST_YEAR_LINES = [
    (
        "win",
        "contribution",
        "kn1-contrib-a",
        "",
        "Dual-path SRT contribution ran all four days "
        "without a single on-air drop. First year on SRT: worth it.",
    ),
    (
        "win",
        "distribution",
        "kn1-asl",
        "",
        "First year with a live ASL feed on every keynote; "
        "the accessibility team got thank-you notes.",
    ),
    ("win", "handoff", "kn1-ott", "", "OTT partner handoff: 99.98% availability over the event."),
    (
        "learning",
        "contribution",
        "kn1-contrib-b",
        "on_air",
        "SRT latency of 120 ms on the "
        "transatlantic path: 14 s of macroblocking on air during the opening keynote.",
    ),
    (
        "learning",
        "distribution",
        "kn1-captions-en",
        "on_air",
        "Caption drift up to 12 s in the afternoon keynote; nobody owned the caption engine.",
    ),
    (
        "learning",
        "distribution",
        "kn1-simulcast-youtube",
        "on_air",
        "YouTube simulcast rejected the stream key (rotated the night before). 6 min missing.",
    ),
    (
        "learning",
        "distribution",
        "kn1-program",
        "caught",
        "Holding slate left on one pipeline; caught at T-1 min.",
    ),
    (
        "learning",
        "",
        "",
        "none",
        "Shift handover between New York and Dublin was done over chat; "
        "two open issues were lost overnight.",
    ),
]
# (key, source learning index, owner, status, body)
LAST_YEAR_ACTIONS = [
    (
        "a1",
        3,
        "operator",
        "open",
        "Raise SRT latency on transatlantic contribution paths to "
        "4x RTT (≥ 2000 ms) and make it the rundown default.",
    ),
    (
        "a2",
        4,
        "nyc-ops",
        "in_progress",
        "Give the caption engine an owner per shift and a delay alarm.",
    ),
    (
        "a3",
        5,
        "lead",
        "open",
        "Freeze simulcast stream keys 48 h before doors; one owner per platform.",
    ),
    ("a4", 6, "nyc-ops", "done", "Add the slate check to the T-5 call."),
    ("a5", 7, "dublin-ops", "open", "Keep the handover list in Tally, not in chat."),
    (
        "a6",
        3,
        "operator",
        "dropped",
        "Evaluate RIST as an alternative to SRT (dropped: SRT with higher latency is enough).",
    ),
]


def _last_year_rundown(demo: Event) -> dict:
    start = demo.start - timedelta(days=364)
    tz = zoneinfo.ZoneInfo(demo.time_zone)
    day = start.astimezone(tz).date()

    def at(offset_days, hh, mm):
        return datetime.combine(day + timedelta(days=offset_days), time(hh, mm), tzinfo=tz)

    feeds = [
        {
            "slug": f"kn1-{s}",
            "name": f"Opening keynote 2025: {n}",
            "kind": k,
            "stage": st,
            "session": "kn1",
            "transport": t,
            "path": p,
            "language": lang,
        }
        for s, n, k, st, t, p, lang in [
            ("contrib-a", "contribution A", "program", "contribution", "srt", "A", ""),
            ("contrib-b", "contribution B", "program", "contribution", "srt", "B", ""),
            ("program", "program output", "program", "distribution", "cloud_flow", "none", ""),
            ("asl", "ASL", "sign_language", "distribution", "cloud_flow", "none", "ase"),
            ("captions-en", "captions", "captions", "distribution", "other", "none", "en"),
            ("simulcast-youtube", "YouTube", "simulcast", "distribution", "rtmp", "none", ""),
            ("ott", "OTT handoff", "program", "handoff", "hls_dash", "none", ""),
        ]
    ]
    return {
        "event": {
            "slug": LAST_YEAR_SLUG,
            "name": "Cloud Summit 2025",
            "venue": "Las Vegas Convention Center",
            "time_zone": demo.time_zone,
            "start": start.isoformat(),
            "end": (start + timedelta(days=3, hours=12)).isoformat(),
            "state": "closed",
        },
        "sites": SITES,
        "sessions": [
            {
                "slug": "kn1",
                "title": "Opening keynote 2025",
                "kind": "keynote",
                "room": "Main stage",
                "start": at(0, 8, 0).isoformat(),
                "end": at(0, 10, 0).isoformat(),
            },
            {
                "slug": "kn2",
                "title": "Closing keynote 2025",
                "kind": "keynote",
                "room": "Main stage",
                "start": at(3, 9, 0).isoformat(),
                "end": at(3, 10, 30).isoformat(),
            },
        ],
        "feeds": feeds,
    }


def _load_last_year(demo: Event, people: dict) -> Event:
    """A closed, finalized previous-year event with open actions that carry over."""
    existing = Event.objects.filter(slug=LAST_YEAR_SLUG).first()
    if existing is None:
        import_rundown(text=yaml.safe_dump(_last_year_rundown(demo), sort_keys=False), fmt="yaml")
    event = Event.objects.get(slug=LAST_YEAR_SLUG)
    roles = {"lead": Role.LEAD, "viewer": Role.VIEWER}
    for username, user in people.items():
        site = Membership.objects.filter(event=demo, user=user).values_list("site", flat=True)
        Membership.objects.get_or_create(
            event=event,
            user=user,
            defaults={"role": roles.get(username, Role.OPERATOR), "site_id": site.first()},
        )
    loader = _Loader(event, people)
    kn1 = event.sessions.get(slug="kn1")
    learnings = []
    for number, (kind, stage, feed, impact, body) in enumerate(LAST_YEAR_LINES):
        entry = loader.log(
            f"ly:{number}",
            kind=kind,
            author=("lead", "operator", "nyc-ops", "dublin-ops")[number % 4],
            body=body,
            feeds=[feed] if feed else [],
            occurred_at=kn1.scheduled_start + timedelta(minutes=20 + 17 * number),
            session=kn1 if feed else None,
            stage=stage,
            impact=impact,
            shareable=kind == "win",
        )
        learnings.append(entry)
    if not event.retro_finalized:
        for key, source, owner, status, body in LAST_YEAR_ACTIONS:
            loader.action(
                f"ly:{key}",
                author="lead",
                owner=owner,
                body=body,
                due=loader.day_one + timedelta(days=60),
                status=status,
                learning=learnings[source],
            )
        finalize.finalize_retro(event=event, actor=people["lead"])
    return event
