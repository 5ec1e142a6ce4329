"""The daily ranking job over logged activity in the (emulated) media bucket: it promotes a clearly better model,
refuses a broken one and data that looks wrong, saying why in its report; reruns write the same version; serving
picks up a promotion within its cache's TTL and ignores a corrupt model."""

from __future__ import annotations

import datetime
import gzip
import json
import math
import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from aperture import wiring
from aperture.activity import Engagement, Impression, Record, day, to_line
from aperture.adapters.aws import client
from aperture.adapters.ranking_models import ModelStore, current_key, model_key
from aperture.clock import ShiftedClock, SystemClock, use_clock
from aperture.ranking import RankingModel, fit
from aperture.settings import get_settings
from local.invoke import invoke
from local.provision import Provisioned
from tests.faults import FailAfter, InjectedFaultError
from tests.support import logged_warnings, settings_env

TODAY = datetime.date(2026, 3, 15)
HELD_OUT = "2026-03-13"  # the day before yesterday: the last whose 24-hour label windows have closed
DAYS = [datetime.date(2026, 3, d) for d in (10, 11, 12, 13)]
HOUR = 3_600_000


def event(today: datetime.date = TODAY) -> dict[str, Any]:
    return {"detail-type": "Scheduled Event", "source": "aws.events", "time": f"{today.isoformat()}T03:00:00Z"}


def world(rows_per_day: int = 1500, seed: int = 5, days: list[datetime.date] = DAYS) -> list[Record]:
    """Pages of 20 shown to viewers on each day, feed and explore, and the engagements their hidden tastes cause:
    on the feed, author and topic affinity decide (not recency); on explore, the retrieval evidence and region."""
    rng = random.Random(seed)
    records: list[Record] = []
    post_id = 1_000
    for served_day in days:
        start = int(datetime.datetime.combine(served_day, datetime.time(), datetime.UTC).timestamp() * 1000)
        for surface in ("feed", "explore"):
            for page in range(rows_per_day // 20):
                viewer, served_at = rng.randrange(200), start + rng.randrange(20 * HOUR)
                for position in range(20):
                    post_id += 1
                    author = rng.randrange(500)
                    if surface == "feed":
                        features = {n: rng.random() for n in ("recency", "engagement")}
                        features |= {"author_affinity": 2 * rng.random(), "topic_affinity": rng.random()}
                        logit = -3.5 + 2.0 * features["author_affinity"] + 1.5 * features["topic_affinity"]
                    else:
                        # (region counts too: the shipped explore model ranks by the evidence alone here, as it
                        # knows no feature named "region", and the trained one must beat it)
                        region = float(rng.random() < 0.5)
                        features = {"author_popularity": rng.random(), "evidence": rng.random(), "region": region}
                        logit = -3.5 + 3.5 * features["evidence"] + 1.5 * region
                    records.append(
                        Impression(
                            surface,
                            viewer,
                            post_id,
                            author,
                            position,
                            served_at,
                            "default",
                            features,
                            request_id=f"{surface}-{served_day}-{page}",
                        )
                    )
                    if rng.random() < 1 / (1 + math.exp(-logit)):
                        if rng.random() < 0.2:
                            records.append(Engagement("profile_open", viewer, author, served_at + 2 * HOUR))
                        else:
                            records.append(Engagement("like", viewer, author, served_at + HOUR, post_id=post_id))
                    elif rng.random() < 0.05:  # engaged, but long after: not a label
                        records.append(Engagement("save", viewer, author, served_at + 30 * HOUR, post_id=post_id))
    return records


def log(records: list[Record]) -> None:
    """Write records as the flush job does: gzipped JSON lines under logs/<kind>/dt=<day>/."""
    batches: dict[str, list[str]] = {}
    for record in records:
        kind = "impression" if isinstance(record, Impression) else "engagement"
        at = record.served_at if isinstance(record, Impression) else record.at
        batches.setdefault(f"logs/{kind}/dt={day(at)}/0-{kind}.jsonl.gz", []).append(to_line(record))
    s3 = client("s3")
    for key, lines in batches.items():
        body = gzip.compress(("\n".join(lines) + "\n").encode())
        s3.put_object(Bucket=get_settings().media_bucket, Key=key, Body=body)


def store() -> ModelStore:
    return ModelStore(wiring.media_store())


def report(surface: str, version: str = HELD_OUT) -> dict[str, Any]:
    found = store().report(surface, version)
    assert found is not None
    return found


@pytest.fixture(autouse=True)
def empty_bucket(aws: Provisioned) -> Iterator[None]:
    def empty() -> None:
        wiring.reset()
        media = wiring.media_store()
        for prefix in ("logs/", "models/"):
            media.delete_unserved(prefix)

    empty()
    yield
    # (and after: a model promoted here would rank every later test's explore and feed in this process)
    empty()
    wiring.reset()


def test_the_job_promotes_a_model_that_ranks_the_held_out_day_better_and_says_why() -> None:
    # Given four days of logged pages, on which the shipped model's favourite (recency) predicts nothing
    log(world())
    # When the daily job runs
    outcome = invoke("ranking_train", event())
    # Then both surfaces' models are promoted, with reports of the held-out day's figures
    assert outcome["feed"]["promoted"] and outcome["explore"]["promoted"], outcome
    feed = report("feed")
    assert feed["examples"]["training"] == 3 * 1500 and feed["examples"]["held_out"] == 1500
    assert 0.05 < feed["examples"]["held_out_label_rate"] < 0.5
    assert feed["figures"]["candidate"]["auc"] > feed["figures"]["serving"]["auc"] + 0.05
    assert feed["figures"]["candidate"]["ndcg_at_10"] > feed["figures"]["baseline"]["ndcg_at_10"]
    assert feed["serving_version"] == RankingModel.default().version
    assert feed["baseline"].startswith("chronological")
    explore = report("explore")
    assert explore["baseline"] == "popularity (author_popularity)" and explore["features"] == [
        "author_popularity", "evidence", "region"]  # fmt: skip
    # And each surface's pointer names the model now served, trained on the features the impressions carried
    promoted = RankingModel.from_json(store().current("explore") or b"")
    assert promoted.version == f"explore-{HELD_OUT}"
    # (its inputs clipped to each feature's declared range, not to what the training days happened to hold)
    assert promoted.weights["evidence"] > 2.0 and promoted.bounds["evidence"] == (-5.0, 2.0)


def test_a_broken_model_is_refused_and_the_report_says_why(aws: Provisioned) -> None:
    # Given logged pages, and training that inverts what it learns (a sign error)
    log(world())
    training = wiring.ranking_training()

    def inverted(matrix: Any, labels: Any, names: Any, *, version: str) -> RankingModel:
        good = fit(matrix, labels, names, version=version)
        return RankingModel({n: -w for n, w in good.weights.items()}, -good.bias, version, good.features, good.bounds)

    training._trainer = inverted
    # When the job runs, then neither model is promoted, and each report says which figure failed
    reports = training.run(TODAY)
    for surface in ("feed", "explore"):
        assert not reports[surface]["promoted"] and "below the baseline" in reports[surface]["reason"]
        assert store().current_version(surface) is None
        assert report(surface)["trained"]


def test_a_model_no_better_than_the_serving_one_by_the_margin_is_not_promoted() -> None:
    # Given a first run promoted the feed's model
    log(world())
    invoke("ranking_train", event())
    # When the next day's run trains on one more day of the same tastes, with a margin of 0.02
    log(world(seed=6, days=[datetime.date(2026, 3, 14)]))
    with settings_env(APERTURE_RANKING_PROMOTE_MARGIN="0.02"):
        outcome = invoke("ranking_train", event(TODAY + datetime.timedelta(days=1)))
    # Then its model is kept beside its report, which says it is no better than the serving one
    assert not outcome["feed"]["promoted"] and "does not beat the serving model" in outcome["feed"]["reason"]
    assert report("feed", "2026-03-14")["serving_version"] == f"feed-{HELD_OUT}"
    assert store().current_version("feed") == HELD_OUT


def test_a_rerun_of_the_same_day_writes_the_same_version_and_finishes_a_cut_short_promotion() -> None:
    log(world())
    training = wiring.ranking_training()
    models = FailAfter(store(), "write_report")
    training._models = models
    # Given a run that stopped right after writing the feed's report (before its pointer)
    with pytest.raises(InjectedFaultError):
        training.run(TODAY)
    assert store().current_version("feed") is None
    # When it is retried
    invoke("ranking_train", event())
    # Then the retry promoted the same version, and a third run changes nothing
    s3, bucket = client("s3"), get_settings().media_bucket
    first = s3.get_object(Bucket=bucket, Key=model_key("feed", HELD_OUT))["Body"].read()
    assert store().current_version("feed") == HELD_OUT
    invoke("ranking_train", event())
    assert s3.get_object(Bucket=bucket, Key=model_key("feed", HELD_OUT))["Body"].read() == first
    assert report("feed")["promoted"]


@pytest.mark.parametrize("step", ["write_model", "write_report", "promote"])
def test_a_run_that_fails_after_any_step_is_completed_by_its_retry(step: str) -> None:
    log(world(rows_per_day=1000))
    training = wiring.ranking_training()
    training._models = FailAfter(store(), step)
    with pytest.raises(InjectedFaultError):
        training.run(TODAY)
    invoke("ranking_train", event())
    assert store().current_version("feed") == HELD_OUT and report("feed")["promoted"]


def test_too_few_examples_an_odd_label_rate_or_missing_features_mean_no_training(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given explore's impressions all lack their features, and every feed impression was liked
    records = []
    for logged in world(rows_per_day=1000):
        record = logged
        if isinstance(logged, Impression) and logged.surface == "explore":
            record = Impression("explore", record.viewer_id, record.post_id, record.author_id, 0, record.served_at,
                                "m", {}, record.request_id)  # fmt: skip
        if isinstance(record, Impression) and record.surface == "feed":
            records.append(Engagement("like", record.viewer_id, record.author_id, record.served_at + 1, record.post_id))
        records.append(record)
    log(records)
    # When the job runs
    with logged_warnings() as warned:
        outcome = invoke("ranking_train", event())
    # Then it trains neither, says why, warns, and counts the refusals
    assert "missing features" in outcome["explore"]["reason"]
    assert "label rate 1.0000" in outcome["feed"]["reason"]
    assert not report("feed")["trained"] and store().current_version("feed") is None
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    refusals = [line for line in printed if "RankingTrainingRefused" in line]
    assert sorted(line["surface"] for line in refusals) == ["explore", "feed"]
    assert [record.getMessage() for record in warned] == ["ranking training refused"] * 2
    # And with a threshold above what was logged, too few examples
    with settings_env(APERTURE_RANKING_MIN_EXAMPLES="100000"):
        assert "too few examples" in invoke("ranking_train", event(TODAY))["explore"]["reason"]


def test_more_impressions_than_one_run_can_hold_mean_no_training_rather_than_a_run_that_dies() -> None:
    # Given more impressions logged in the days read than the run's cap
    log(world(rows_per_day=500))
    with settings_env(APERTURE_RANKING_MAX_IMPRESSIONS="1200"), logged_warnings() as warned:
        outcome = invoke("ranking_train", event())
    # Then neither surface trains, and the reports say why and what to do
    for surface in ("feed", "explore"):
        assert "too many impressions: more than 1,200" in outcome[surface]["reason"], outcome
        assert not report(surface)["trained"] and store().current_version(surface) is None
    assert [record.getMessage() for record in warned] == ["ranking training refused"] * 2


def test_serving_picks_up_a_promoted_model_after_the_ttl_and_ignores_a_corrupt_one() -> None:
    shifted = ShiftedClock()
    use_clock(shifted)
    try:
        # Given the feed serves the shipped default
        assert wiring.ranking_model() == RankingModel.default()
        # When a model is promoted
        promoted = RankingModel({"recency": 1.0, "author_affinity": 3.0, "engagement": 0.0, "topic_affinity": 0.0},
                                -2.0, "feed-2026-03-13")  # fmt: skip
        store().write_model("feed", "2026-03-13", promoted.to_json())
        store().promote("feed", "2026-03-13")
        # Then it is served once the cache's TTL has passed, not before
        assert wiring.ranking_model() == RankingModel.default()
        shifted.advance(get_settings().ranking_model_ttl_seconds)
        assert wiring.ranking_model() == promoted
        # And a corrupt promotion is ignored: the last good model keeps serving
        s3, bucket = client("s3"), get_settings().media_bucket
        s3.put_object(Bucket=bucket, Key=model_key("feed", "2026-03-14"), Body=b'{"weights": {"recen')
        s3.put_object(Bucket=bucket, Key=current_key("feed"), Body=b'{"version": "2026-03-14"}')
        shifted.advance(get_settings().ranking_model_ttl_seconds)
        assert wiring.ranking_model() == promoted
    finally:
        use_clock(SystemClock())


def test_explore_serves_its_promoted_model() -> None:
    model = RankingModel({"evidence": 2.0}, -1.0, "explore-2026-03-13", features=("evidence",),
                         bounds={"evidence": (0.0, 1.0)})  # fmt: skip
    store().write_model("explore", "2026-03-13", model.to_json())
    store().promote("explore", "2026-03-13")
    assert wiring.explore_model() == model
    assert np.isclose(model.probability({"evidence": 5.0}), model.probability({"evidence": 1.0}))
