"""HTML forms; the rules themselves live in the models and services."""

from django import forms
from django.contrib.auth import get_user_model

from .models import Role


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
