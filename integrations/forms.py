"""Forms of the lead pages: ids and text checked by Django's fields, never by hand."""

from django import forms


class MapSourceForm(forms.Form):
    """Map an unknown source id to a feed of this event."""

    feed = forms.ModelChoiceField(
        queryset=None, error_messages={"invalid_choice": "Choose a feed of this event."}
    )
    source_id = forms.CharField(max_length=300)

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["feed"].queryset = event.feeds.all()


class DismissAnomalyForm(forms.Form):
    """Dismiss one anomaly of this event, saying why."""

    anomaly = forms.ModelChoiceField(
        queryset=None, error_messages={"invalid_choice": "No such anomaly in this event."}
    )
    reason = forms.CharField(max_length=2000, required=False)

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["anomaly"].queryset = event.anomalies.all()
