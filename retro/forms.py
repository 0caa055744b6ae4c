"""HTML forms; the rules themselves live in the models and services."""

import re
from datetime import datetime

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from .models import Entry, Role, Site, Stage


class RundownUploadForm(forms.Form):
    file = forms.FileField(help_text="A YAML (.yaml/.yml) or CSV (.csv) rundown.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        name = upload.name.lower()
        if not name.endswith((".yaml", ".yml", ".csv")):
            raise forms.ValidationError("Upload a .yaml, .yml or .csv file.")
        if upload.size > 5 * 1024 * 1024:
            raise forms.ValidationError("A rundown over 5 MB is not plausible; check the file.")
        return upload


class MembershipForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)

    def clean_username(self):
        name = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=name, is_active=True).first()
        if user is None:
            raise forms.ValidationError(f"No active user {name!r}; an admin creates users.")
        return user


class PlanNextEventForm(forms.Form):
    """The next event's slug, name and start (a local time in the event's zone)."""

    slug = forms.CharField(max_length=80)
    name = forms.CharField(max_length=200)
    start = forms.DateTimeField(
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the event's time zone.",
    )
    force = forms.BooleanField(
        required=False, help_text="Plan it although the retro is not finalized (recorded)."
    )


# --- Editing every field of an entry ------------------------------------------------------

WALL_FORMAT = "%Y-%m-%dT%H:%M:%S"
WHEN_ZONES = [("event", "the event's zone"), ("viewer", "your zone")]


def wall_time(moment, zone) -> str:
    """`moment` as a datetime-local value (to the second) on the clocks of `zone`."""
    return moment.astimezone(zone).strftime(WALL_FORMAT)


class EntryEditForm(forms.Form):
    """Every field of an entry, as its page and the board show them. Only the fields the
    person changed go to retro.services.edit_entry, which holds every rule; `version` is the
    one the change is based on (a stale one is a conflict, as for the API)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), strip=False)
    occurred_at = forms.CharField(
        label="When",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}),
    )
    when_zone = forms.ChoiceField(label="in", choices=WHEN_ZONES, initial="event")
    feeds = forms.CharField(required=False, help_text="Feed slugs, separated by spaces.")
    session = forms.ChoiceField(required=False)
    stage = forms.ChoiceField(required=False, choices=[("", "—"), *Stage.choices])
    site = forms.ChoiceField(required=False)
    impact = forms.ChoiceField(required=False, choices=[("", "—"), *Entry.Impact.choices])
    tags = forms.CharField(required=False, help_text="Separated by commas or spaces.")
    owner = forms.ChoiceField(required=False)
    due = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(required=False, choices=Entry.Status.choices)

    def __init__(self, *args, entry: Entry, viewer_zone, **kwargs):
        self.entry, self.event, self.viewer_zone = entry, entry.event, viewer_zone
        kwargs.setdefault("initial", self.initial_for(entry))
        super().__init__(*args, **kwargs)
        event = self.event
        self.fields["session"].choices = [("", "—")] + [
            (s.slug, s.title) for s in event.sessions.order_by("scheduled_start")
        ]
        self.fields["site"].choices = [("", "—")] + [(s.slug, s.name) for s in Site.objects.all()]
        members = event.memberships.select_related("user").order_by("user__username")
        self.fields["owner"].choices = [("", "nobody")] + [
            (m.user.username, m.user.username) for m in members
        ]
        self.fields["when_zone"].choices = [
            ("event", f"the event's zone ({event.time_zone})"),
            ("viewer", f"your zone ({viewer_zone})"),
        ]
        if not entry.is_action:
            for name in ("owner", "due", "status"):
                del self.fields[name]
        if entry.kind != Entry.Kind.LEARNING:
            del self.fields["impact"]

    @staticmethod
    def initial_for(entry: Entry) -> dict:
        return {
            "version": entry.version,
            "body": entry.body,
            "occurred_at": wall_time(entry.occurred_at, entry.event.tz),
            "when_zone": "event",
            "feeds": " ".join(sorted(f.slug for f in entry.feeds.all())),
            "session": entry.session.slug if entry.session else "",
            "stage": entry.stage,
            "site": entry.site.slug if entry.site else "",
            "impact": entry.impact,
            "tags": ", ".join(entry.tags),
            "owner": entry.owner.username if entry.owner else "",
            "due": entry.due,
            "status": entry.status or Entry.Status.OPEN,
        }

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("occurred_at", "")
        if text and {"occurred_at", "when_zone"} & set(self.changed_data):
            zone = self.event.tz if cleaned.get("when_zone") == "event" else self.viewer_zone
            try:
                wall = datetime.fromisoformat(text.strip())
            except ValueError:
                wall = None
            if wall is None or wall.tzinfo is not None or "T" not in text:
                self.add_error("occurred_at", "Give the date and the time, e.g. 2026-11-30T10:05.")
            else:
                cleaned["occurred_at"] = wall.replace(tzinfo=zone)
        return cleaned

    def changes(self) -> tuple[dict, list | None]:
        """The changed fields as retro.services.edit_entry takes them: (fields, feeds)."""
        data, event, changed = self.cleaned_data, self.event, set(self.changed_data)
        fields: dict = {}
        feeds = None
        if "when_zone" in changed:
            changed.add("occurred_at")
        for name in changed - {"version", "when_zone", "feeds"}:
            fields[name] = data.get(name)
        when = fields.get("occurred_at", self.entry.occurred_at)
        if isinstance(when, str) or when == self.entry.occurred_at.replace(microsecond=0):
            # Did not parse (clean() said so), or the same second written another way (a
            # browser drops ":00"): not a change, and the stored fraction of a second stays.
            fields.pop("occurred_at", None)
        if "session" in fields:
            fields["session"] = event.sessions.filter(slug=fields["session"]).first()
        if "site" in fields:
            fields["site"] = Site.objects.filter(slug=fields["site"]).first()
        if "owner" in fields:
            name = fields["owner"]
            owner = get_user_model().objects.filter(username=name).first() if name else None
            fields["owner"] = owner
        if "tags" in fields:
            fields["tags"] = [t for t in re.split(r"[\s,]+", fields["tags"] or "") if t]
        if "feeds" in changed:
            slugs = list(dict.fromkeys(s for s in re.split(r"[\s,]+", data["feeds"]) if s))
            feeds = list(event.feeds.filter(slug__in=slugs))
            missing = sorted(set(slugs) - {f.slug for f in feeds})
            if missing:
                raise ValidationError({"feeds": f"No feed {', '.join(missing)} in this event."})
        return fields, feeds
