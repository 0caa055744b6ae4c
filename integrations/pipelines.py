"""Pipelines of one channel on one feed: each keeps its own series.

A standard MediaLive channel runs two pipelines that report the same metrics at the same
minute, under the source ids ``"{channel}:0"`` and ``"{channel}:1"`` (CloudWatch's
``ChannelId`` + ``Pipeline``, EventBridge's ``channel_arn`` + ``pipeline``, or any format's
source id of that shape). A feed that lists two or more pipelines of one channel would store
both under one (feed, metric, time) key, and one pipeline's samples would replace the
other's. So on such a feed a sample's metric name carries its pipeline:
``medialive.NetworkIn`` from ``ch-kn1:1`` is stored as ``medialive.NetworkIn/pipeline-1``
(the ``/`` narrowing of formats.cloudwatch). Both series are stored, rolled up, deduplicated
and charted on their own; rules, key metrics and labels read the name without its pipeline
(`base`), and the on-air path tells which pipeline a metric anomaly is about (`split`).

A feed that lists a single pipeline of a channel (a single-pipeline channel) keeps the plain
names: nothing collides there.
"""

from collections.abc import Iterable

MARK = "/pipeline-"


def pipeline_of(source: str | None) -> tuple[str, str] | None:
    """(channel, pipeline) of a ``"channel:N"`` source id, or None for any other shape."""
    if not source:
        return None
    channel, _, pipeline = source.rpartition(":")
    if channel and pipeline.isdigit():
        return channel, pipeline
    return None


def multi_pipeline_channels(source_ids: Iterable[str]) -> set[str]:
    """The channels of which these source ids list two pipelines or more ("ch:0", "ch:1")."""
    seen: dict[str, set[str]] = {}
    for source in source_ids:
        parts = pipeline_of(source)
        if parts is not None:
            seen.setdefault(parts[0], set()).add(parts[1])
    return {channel for channel, pipes in seen.items() if len(pipes) > 1}


def pipeline_sources(source_ids: Iterable[str]) -> dict[str, str]:
    """Source id -> pipeline, for the source ids whose samples carry their pipeline (those of
    a channel the feed lists two pipelines or more of)."""
    source_ids = list(source_ids)
    channels = multi_pipeline_channels(source_ids)
    out = {}
    for source in source_ids:
        parts = pipeline_of(source)
        if parts is not None and parts[0] in channels:
            out[source] = parts[1]
    return out


def qualify(metric: str, pipeline: str) -> str:
    """The metric name of one pipeline's series (``medialive.NetworkIn/pipeline-1``)."""
    return f"{metric}{MARK}{pipeline}"


def split(metric: str) -> tuple[str, str | None]:
    """(name without the pipeline, pipeline or None)."""
    base, mark, pipeline = metric.rpartition(MARK)
    if mark and base and pipeline.isdigit():
        return base, pipeline
    return metric, None


def base(metric: str) -> str:
    """The metric name without its pipeline (what rules and key-metric lists name)."""
    return split(metric)[0]
