"""Feed.derived_from becomes many-to-many (redundant paths A and B, the hotel's playout and
live); every existing link is kept. Back: each feed keeps one upstream (path A first)."""

import django.db.models.deletion
from django.db import migrations, models


def copy_links_forward(apps, schema_editor):
    Feed = apps.get_model("retro", "Feed")
    through = Feed.derived_from.through
    links = Feed.objects.filter(derived_from_single__isnull=False).values_list(
        "pk", "derived_from_single_id"
    )
    through.objects.bulk_create(
        [through(from_feed_id=child, to_feed_id=parent) for child, parent in links],
        batch_size=500,
    )


def copy_links_back(apps, schema_editor):
    Feed = apps.get_model("retro", "Feed")
    through = Feed.derived_from.through
    chosen: dict[int, tuple] = {}
    rows = through.objects.values_list("from_feed_id", "to_feed_id", "to_feed__path")
    for child, parent, path in rows:
        rank = (path != "A", parent)  # the A path first, then the oldest link
        if child not in chosen or rank < chosen[child]:
            chosen[child] = rank
    for child, (_, parent) in chosen.items():
        Feed.objects.filter(pk=child).update(derived_from_single_id=parent)


class Migration(migrations.Migration):
    dependencies = [
        ("retro", "0003_slugs_plain_ascii"),
    ]

    operations = [
        migrations.AlterField(
            model_name="feed",
            name="derived_from",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="retro.feed",
            ),
        ),
        migrations.RenameField(
            model_name="feed", old_name="derived_from", new_name="derived_from_single"
        ),
        migrations.AddField(
            model_name="feed",
            name="derived_from",
            field=models.ManyToManyField(blank=True, related_name="derived_feeds", to="retro.feed"),
        ),
        migrations.RunPython(copy_links_forward, copy_links_back),
        migrations.RemoveField(model_name="feed", name="derived_from_single"),
    ]
