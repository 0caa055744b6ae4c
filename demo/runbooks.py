"""Demo runbooks for the demo event: eight procedures, a few revisions driven by the demo's
learnings (when those exist), and runs, one of them on an outdated revision. Idempotent."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from retro.models import Entry, Event
from runbooks import services
from runbooks.models import Runbook

DEMO_SLUG = "demo"

CONTRIBUTION = """# Bring up a contribution encoder and its SRT path

Applies to the program feeds leaving the venue encode site: `{session}-contrib-a` and
`{session}-contrib-b`, where `{session}` is the session of the run.
Path A and path B run on separate encoders, ISPs and cloud ingest ports.

## Before you start
| item | A path | B path |
|---|---|---|
| stream id | `{session}-contrib-a` | `{session}-contrib-b` |
| listener | `srt://ingest-a.example:5000` | `srt://ingest-b.example:5001` |
| ISP | venue fibre | bonded cellular |

## Encoder
- [ ] Power on the encoder; confirm the program SDI input is locked (1080p59.94, embedded audio 1-2)
- [ ] Load the show preset: H.264 High, 12 Mb/s CBR, GOP 2 s, AAC 256 kb/s
- [ ] Check the encoder clock is NTP-synced (drift < 10 ms)

## SRT path
- [ ] Measure the RTT to the ingest listener (`ping`, 60 samples); note it in the run
- [ ] Set SRT latency to 120 ms
- [ ] Set the passphrase from the vault (AES-256, 32 characters) and confirm the stream id
- [ ] Start caller mode; the MediaConnect flow source shows *connected*

## Verify
- [ ] Packets lost and dropped stay at 0 for 60 s in the SRT stats
- [ ] Broadcast control confirms picture and sound on the multiviewer
"""

CONTRIBUTION_V2 = CONTRIBUTION.replace(
    "- [ ] Set SRT latency to 120 ms",
    "- [ ] Set SRT latency to 4 x RTT, never below 500 ms (120 ms lost packets last year)",
)
CONTRIBUTION_V3 = CONTRIBUTION_V2.replace(
    "- [ ] Broadcast control confirms picture and sound on the multiviewer",
    "- [ ] Broadcast control confirms picture and sound on the multiviewer\n"
    "- [ ] Record the final latency and RTT in the event's rundown notes",
)

FAILOVER = """# Fail a contribution path over to B

Use when path A shows sustained loss (not-recovered packets > 0 for 10 s) or the A encoder fails.

## Decide
- [ ] Confirm the loss on the A flow source in the cloud console, not only on the encoder
- [ ] Call it on the show channel: "Failing {session} contribution to B"

## Switch
- [ ] Check the B path is healthy: SRT RTT stable, 0 packets lost for 30 s
- [ ] Switch the MediaConnect flow's active source to `{session}-contrib-b` (merge mode off)
- [ ] Confirm MediaLive input shows B and the program is clean on the multiviewer

## After
- [ ] Log a learning with the time of the switch and what failed
- [ ] Keep A running for diagnosis; do not switch back during a live segment
"""

TRANSMISSION = """# Check the cloud transmission path

The second mile: the MediaConnect flow from the venue region to broadcast control (`{session}-tx`).

## Flow
- [ ] Flow `{session}-tx` is ACTIVE; both sources report bitrate within 5 % of the encoder's
- [ ] Continuity counter errors (TR 101 290) at 0 over the last 5 minutes
- [ ] Entitlement / output to the broadcast-control region is enabled

## Channel
- [ ] Start MediaLive channel `ch-{session}` 30 minutes before doors
- [ ] Pipeline 0 and pipeline 1 both RUNNING with no active alerts
- [ ] Input failover: confirm the secondary input is the B flow output
"""

SIMULCAST = """# Start a social simulcast

Outputs `{session}-simulcast-youtube` / `-linkedin` / `-twitch` from broadcast control.

## Keys
- [ ] Fetch today's stream keys from the vault; never paste them in chat
- [ ] Check each platform's event page is scheduled and set to the right title

## Outputs
- [ ] Add the RTMP destinations to the MediaLive output group (one per platform)
- [ ] Start the outputs 10 minutes before air with the slate up
- [ ] Confirm each platform shows the stream as *live (preview)* with good health

## On air
- [ ] Go live on every platform at the rundown time, in the order of the rundown
- [ ] Watch each platform's player for 2 minutes: audio in sync, captions on
"""

ASL_RETURN = """# Build the sign-language venue return

The ASL interpreter works at broadcast control; the picture returns to the venue screens
(asl-venue-return) over SRT.

## Return path
- [ ] Start the ASL return encoder at broadcast control (1080p, 8 Mb/s)
- [ ] Set SRT latency on the return to 120 ms
- [ ] Venue screens' decoder receives `asl-venue-return`; picture on the side screen

## Lip sync
- [ ] Interpreter watches the program return; measure return latency with the clapper
- [ ] End-to-end interpreter delay under 1.5 s; tell the stage manager the figure
"""

ASL_RETURN_V2 = ASL_RETURN.replace(
    "- [ ] Set SRT latency on the return to 120 ms",
    "- [ ] Set SRT latency on the return to 4 x RTT (at least 400 ms); 120 ms froze the picture",
)

HOTEL = """# The hotel alternate feed (playout + live)

hotel-alternate mixes a playout schedule with live keynotes for the hotel TV channel.

## Schedule
- [ ] Load today's playout schedule; check every clip exists and the durations add up
- [ ] Live windows in the schedule match the rundown's keynote times (event time zone)

## Switching
- [ ] At each keynote's start the schedule switches to the live program input
- [ ] After the keynote the schedule returns to playout; no black between items
- [ ] Spot-check a hotel room set-top box once a day
"""

HANDOFF = """# Pre-show handoff checklist with the OTT partner

Run from the phone at broadcast control, one hour before doors.

## Packaging
- [ ] HLS and DASH endpoints return a fresh manifest (segment age < 2 s)
- [ ] All renditions present (1080p down to 360p) and the audio tracks for every language
- [ ] Captions (en) and subtitles in the manifest

## Partner
- [ ] Partner's NOC confirms ingest of `{session}-ott` on the bridge
- [ ] CDN origin shield healthy; partner's player plays the slate
- [ ] Agree the escalation contacts for the show day

## Go
- [ ] Tell the show channel: "OTT handoff ready"
"""

TEARDOWN = """# Post-show teardown

## Outputs
- [ ] Stop the social simulcasts on every platform; confirm each event page ended
- [ ] Stop MediaLive channel `ch-{session}` (both pipelines) once the partner confirms end of stream
- [ ] Stop the MediaConnect flows; keep them defined for tomorrow

## Venue
- [ ] Stop contribution encoders A and B; export their logs
- [ ] Rotate the SRT passphrases used today

## Retro
- [ ] Log the day's wins, learnings and actions before leaving
"""

RUNBOOKS = [
    ("contribution-encoder-srt", "Bring up a contribution encoder and its SRT path",
     "contribution", ["program"], ["venue-encode"], CONTRIBUTION),
    ("contribution-failover-b", "Fail a contribution path over to B",
     "contribution", ["program"], ["venue-encode", "bcr-nyc"], FAILOVER),
    ("transmission-cloud-path", "Check the cloud transmission path",
     "transmission", ["program"], ["bcr-nyc"], TRANSMISSION),
    ("social-simulcast", "Start a social simulcast",
     "distribution", ["simulcast"], ["bcr-nyc"], SIMULCAST),
    ("asl-venue-return", "Build the sign-language venue return",
     "distribution", ["sign_language", "venue_return"], ["bcr-nyc", "venue-encode"], ASL_RETURN),
    ("hotel-alternate-feed", "The hotel alternate feed (playout + live)",
     "distribution", ["hotel_alternate"], ["bcr-nyc"], HOTEL),
    ("ott-handoff-preshow", "Pre-show handoff checklist with the OTT partner",
     "handoff", ["program"], ["bcr-nyc"], HANDOFF),
    ("post-show-teardown", "Post-show teardown",
     "handoff", [], ["bcr-nyc", "venue-encode"], TEARDOWN),
]  # fmt: skip


def _learnings(query: Q, *, closed: bool = False):
    """Demo learnings matching `query` (in last year's closed event when `closed`)."""
    entries = Entry.objects.filter(query, deleted_at__isnull=True)
    if closed:
        entries = entries.filter(event__state=Event.State.CLOSED).exclude(event__slug=DEMO_SLUG)
    else:
        entries = entries.filter(event__slug=DEMO_SLUG)
    return list(entries.order_by("occurred_at")[:3])


SRT_LATENCY = Q(kind=Entry.Kind.LEARNING, body__icontains="latency") & Q(body__icontains="srt")
ASL = Q(kind=Entry.Kind.LEARNING) & (Q(body__icontains="asl") | Q(body__icontains="sign language"))


@transaction.atomic
def load_runbooks(out=None) -> None:
    """Create the demo runbooks, their learning-driven revisions and demo runs, once."""
    User = get_user_model()
    lead = User.objects.filter(username="lead").first()
    operator = User.objects.filter(username="operator").first() or lead
    created = 0
    for slug, title, stage, kinds, sites, body in RUNBOOKS:
        if Runbook.objects.filter(slug=slug).exists():
            continue
        services.create_runbook(
            title=title, slug=slug, stage=stage, body=body, author=lead, owner=lead,
            applies_to={"feed_kinds": kinds, "sites": sites}, review_days=180,
            summary="Written from the team's notes",
        )  # fmt: skip
        created += 1
    revisions = _learning_revisions(lead)
    runs = _demo_runs(lead, operator)
    if out:
        out(f"runbooks: {created} created, {revisions} revisions from learnings, {runs} runs")


def _learning_revisions(lead) -> int:
    made = 0
    contribution = Runbook.objects.get(slug="contribution-encoder-srt")
    if contribution.revisions.count() == 1:
        last_year = _learnings(SRT_LATENCY, closed=True)
        this_year = _learnings(SRT_LATENCY)
        for entry in last_year + this_year:
            services.link_entry(
                entry=entry, runbook=contribution, actor=lead, step_ref="SRT path: Set SRT latency"
            )
        services.save_revision(
            runbook=contribution, author=lead, body=CONTRIBUTION_V2, base_revision=1,
            summary="Latency from the measured RTT (last year's loss at 120 ms)",
            entries=last_year,
        )  # fmt: skip
        services.save_revision(
            runbook=contribution, author=lead, body=CONTRIBUTION_V3, base_revision=2,
            summary="Record the final latency for next year", entries=this_year,
        )  # fmt: skip
        made += 2
    asl = Runbook.objects.get(slug="asl-venue-return")
    if asl.revisions.count() == 1:
        learnings = _learnings(ASL)
        for entry in learnings:
            services.link_entry(entry=entry, runbook=asl, actor=lead, step_ref="Return path")
        services.save_revision(
            runbook=asl, author=lead, body=ASL_RETURN_V2, base_revision=1,
            summary="Return latency from RTT after the frozen ASL picture", entries=learnings,
        )  # fmt: skip
        made += 1
    return made


def _demo_runs(lead, operator) -> int:
    event = Event.objects.filter(slug=DEMO_SLUG).first()
    if event is None or event.runbook_runs.exists():
        return 0
    contribution = Runbook.objects.get(slug="contribution-encoder-srt")
    handoff = Runbook.objects.get(slug="ott-handoff-preshow")
    feed = event.feeds.filter(slug="kn1-contrib-a").first()
    day1 = event.start
    # A rehearsal on revision 1, before the learnings changed it: an outdated run.
    old = services.start_run(
        runbook=contribution, event=event, started_by=operator, feed=feed,
        revision=contribution.revisions.get(number=1), started_at=day1 - timedelta(days=1),
    )  # fmt: skip
    _check_all(old, operator, old.started_at)
    current = services.start_run(
        runbook=contribution, event=event, started_by=operator, feed=feed,
        started_at=day1 - timedelta(hours=2),
    )  # fmt: skip
    _check_all(current, operator, current.started_at)
    pre = services.start_run(
        runbook=handoff, event=event, started_by=operator, started_at=day1 - timedelta(hours=1)
    )
    _check_all(pre, operator, pre.started_at, skip={5: "Partner's CDN dashboard was down"})
    return 3


def _check_all(run, actor, start, skip=None) -> None:
    skip = skip or {}
    at = start
    for step in run.steps.order_by("number"):
        at += timedelta(minutes=2, seconds=17 * step.number % 90)
        state = "skipped" if step.number in skip else "done"
        services.record_step(
            run=run, number=step.number, actor=actor, state=state,
            reason=skip.get(step.number, ""), at=at,
        )  # fmt: skip
    services.finish_run(run=run, actor=actor, at=at + timedelta(minutes=1))
