"""POST /integrations/slack/command/: Slack's slash command, answered with an ephemeral message.

Slack shows the body of a 200 answer to the user who typed the command, and only a generic
failure for anything else: mistakes the user can fix (an unknown feed, an unmapped user) are
a 200 with an ephemeral message that says what to do; a request we cannot trust is a 401.
"""

from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tally.times import in_zone

from . import chat


def _ephemeral(text: str, status: int = 200) -> JsonResponse:
    return JsonResponse({"response_type": "ephemeral", "text": text}, status=status)


@csrf_exempt  # signed by Slack instead (chat.verify), and carries no session
@require_POST
def slack_command(request):
    body = request.body  # the raw bytes Slack signed
    try:
        chat.verify(
            body=body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp"),
            signature=request.headers.get("X-Slack-Signature"),
        )
    except chat.BadSignature as exc:
        return JsonResponse({"error": str(exc)}, status=401)
    form = request.POST
    # The same command sent twice (a retry) logs once: trigger_id is unique per invocation.
    request_id = form.get("trigger_id") or "{}:{}:{}".format(
        request.headers["X-Slack-Request-Timestamp"], form.get("user_id"), form.get("text")
    )
    try:
        entry = chat.log_from_chat(
            team_id=form.get("team_id", ""),
            chat_user_id=form.get("user_id", ""),
            text=form.get("text", ""),
            request_id=request_id,
        )
    except chat.ChatError as exc:
        return _ephemeral(f":warning: {exc}")
    event = entry.event
    feeds = ", ".join(f.slug for f in entry.feeds.all())
    where = f" on {feeds}" if feeds else ""
    link = f"{settings.TALLY_BASE_URL}{entry.get_absolute_url()}"
    return _ephemeral(
        f"Logged {entry.get_kind_display().lower()}{where} in {event.name} at "
        f"{in_zone(entry.occurred_at, event, 'day')} ({event.time_zone}) as "
        f"{entry.author.username}: <{link}|open in Tally>"
    )
