"""The daily ranking job: examples from the activity log's last days, a model per surface trained on all but the
most recent complete day, scored on that day beside the serving model and the baseline, promoted through the gate.

A run is named by its held-out day: every surface's version is that day, so a rerun (a retry, a second invocation)
writes the same objects, and one that finds its report already written only finishes what that run left undone
(the pointer of a promoted model).
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from aperture.activity import ENGAGEMENT, IMPRESSION, Engagement, Impression, Surface, from_line
from aperture.learning import (
    Decision,
    ExampleBuilder,
    Examples,
    Guards,
    Labels,
    baseline_scores,
    figures,
    gate,
    refusal,
    report,
    scores,
)
from aperture.observability import count, logger
from aperture.ranking import RankingModel, fit

SURFACES: tuple[Surface, ...] = ("feed", "explore")
DAY = datetime.timedelta(days=1)


class ActivitySource(Protocol):
    def lines(self, kind: str, day: str) -> Iterator[bytes]: ...


class Models(Protocol):
    def current(self, surface: str) -> bytes | None: ...
    def report(self, surface: str, version: str) -> dict[str, Any] | None: ...
    def current_version(self, surface: str) -> str | None: ...
    def write_model(self, surface: str, version: str, model: str) -> None: ...
    def write_report(self, surface: str, version: str, report: dict[str, Any]) -> None: ...
    def promote(self, surface: str, version: str) -> None: ...


class Trainer(Protocol):
    def __call__(self, matrix: Any, labels: Any, names: Sequence[str], *, version: str) -> RankingModel: ...


@dataclass(frozen=True)
class TrainingPolicy:
    days: int  # of the activity log read, the held-out day included
    label_window_ms: int
    guards: Guards
    margin: float  # by which a candidate must beat the serving model on AUC and NDCG@10
    # The most impressions one run reads: past it the run would outgrow the function's memory (2.2 GB at 10 million
    # measured, docs/benchmarks.md), so it refuses, with a reason and a metric, rather than dying without a report.
    max_impressions: int = 12_000_000


def held_out_day(today: datetime.date, label_window_ms: int) -> datetime.date:
    """The most recent day whose impressions' label windows have all closed in complete partitions (those before
    `today`): with a 24-hour window, the day before yesterday."""
    window_days = math.ceil(label_window_ms / 86_400_000)
    return today - DAY * (1 + window_days)


class RankingTraining:
    def __init__(
        self,
        activity: ActivitySource,
        models: Models,
        defaults: Mapping[str, RankingModel | None],
        policy: TrainingPolicy,
        trainer: Trainer = fit,
    ) -> None:
        self._activity = activity
        self._models = models
        self._defaults = defaults  # what serves when nothing was promoted (the shipped model, if any)
        self._policy = policy
        self._trainer = trainer

    def run(self, today: datetime.date) -> dict[str, dict[str, Any]]:
        """Each surface's report for the run of `today` (UTC)."""
        policy = self._policy
        evaluated = held_out_day(today, policy.label_window_ms)
        version = evaluated.isoformat()
        done = {surface: self._finished(surface, version) for surface in SURFACES}
        if all(found is not None for found in done.values()):
            return {surface: found for surface, found in done.items() if found is not None}
        training_days = [evaluated - DAY * back for back in range(policy.days - 1, 0, -1)]
        engagement_days = [*training_days, evaluated, *(day for day in _days_after(evaluated, today))]
        labels = Labels(self._engagements(engagement_days), policy.label_window_ms)
        builders = {(surface, held): ExampleBuilder(surface, labels) for surface in SURFACES for held in (False, True)}
        read = 0
        for day in [*training_days, evaluated]:
            by_surface = {surface: builders[(surface, day == evaluated)] for surface in SURFACES}
            for line in self._activity.lines(IMPRESSION, day.isoformat()):
                record = from_line(line)
                if isinstance(record, Impression) and (builder := by_surface.get(record.surface)) is not None:
                    read += 1
                    if read > policy.max_impressions:
                        why = (
                            f"too many impressions: more than {policy.max_impressions:,} in {policy.days} days "
                            "(train on fewer days, APERTURE_RANKING_TRAIN_DAYS, or a sample of viewers)"
                        )
                        return {s: done[s] or self._refuse(s, version, why, None, None) for s in SURFACES}
                    builder.add(record)
                    if day != evaluated:  # what the viewer saw before the held-out day is no new example on it
                        builders[(record.surface, True)].shown_before(record)
        reports: dict[str, dict[str, Any]] = {}
        for surface in SURFACES:
            found = done[surface]
            # each builder is let go once built, and each surface's examples once reported: the rows read are not
            # held beside the matrix while a model trains (10 million impressions: docs/benchmarks.md)
            trained, held = builders.pop((surface, False)), builders.pop((surface, True))
            if found is None:
                examples = trained.build(), held.build()
                del trained, held
                found = self._surface(surface, version, *examples)
                del examples
            reports[surface] = found
        return reports

    def _finished(self, surface: Surface, version: str) -> dict[str, Any] | None:
        """The report of a run of this version that trained, with its promotion completed if it was cut short."""
        found = self._models.report(surface, version)
        if found is None or not found.get("trained"):
            return None
        if found.get("promoted") and self._models.current_version(surface) != version:
            self._models.promote(surface, version)
        return found

    def _engagements(self, days: list[datetime.date]) -> Iterator[Engagement]:
        for day in days:
            for line in self._activity.lines(ENGAGEMENT, day.isoformat()):
                record = from_line(line)
                if isinstance(record, Engagement):
                    yield record

    def _surface(self, surface: Surface, version: str, trained: Examples, held: Examples) -> dict[str, Any]:
        guards = self._policy.guards
        why = refusal(trained, guards)
        if why is None:
            held_why = refusal(held, guards)
            why = None if held_why is None else f"held-out day: {held_why}"
        if why is None and held.names != trained.names:
            why = f"missing features: the held-out day carries {held.names}, training {trained.names}"
        if why is not None:
            return self._refuse(surface, version, why, trained, held)

        started = time.perf_counter()
        candidate = self._trainer(trained.matrix, trained.labels, trained.names, version=f"{surface}-{version}")
        seconds = time.perf_counter() - started
        serving = self._served(surface)
        baseline_name, baseline = baseline_scores(held)
        measured = {"candidate": figures(scores(candidate, held), held), "baseline": figures(baseline, held)}
        if serving is not None:
            measured["serving"] = figures(scores(serving, held), held)
        decision = gate(measured["candidate"], measured.get("serving"), measured["baseline"], self._policy.margin)
        written = report(
            surface,
            version,
            trained,
            held,
            {name: values.as_dict() for name, values in measured.items()},
            decision,
            trained=True,
            features=list(candidate.features),
            serving_version=serving.version if serving is not None else None,
            baseline=baseline_name,
            margin=self._policy.margin,
        )
        # The model, then its report, then the pointer: a run cut short between them is finished by the next
        # (`_finished`), and serving never reads a pointer to a model not yet written.
        self._models.write_model(surface, version, candidate.to_json())
        self._models.write_report(surface, version, written)
        if decision.promote:
            self._models.promote(surface, version)
            count("RankingModelPromoted", surface=surface)
        else:
            count("RankingModelRejected", surface=surface)
        logger.info(
            "ranking model trained",
            extra={"surface": surface, "version": version, "train_seconds": round(seconds, 3), **written},
        )
        return written

    def _refuse(
        self, surface: Surface, version: str, why: str, trained: Examples | None, held: Examples | None
    ) -> dict[str, Any]:
        logger.warning("ranking training refused", extra={"surface": surface, "version": version, "reason": why})
        count("RankingTrainingRefused", surface=surface)
        refused = report(surface, version, trained, held, {}, Decision(False, why), trained=False)
        self._models.write_report(surface, version, refused)
        return refused

    def _served(self, surface: Surface) -> RankingModel | None:
        try:
            found = self._models.current(surface)
            current = None if found is None else RankingModel.from_json(found)
        except Exception as error:  # a pointer or model that cannot be read: compare with what serving falls back to
            logger.warning("serving model unreadable", extra={"surface": surface, "error": repr(error)})
            current = None
        return current if current is not None else self._defaults.get(surface)


def _days_after(day: datetime.date, today: datetime.date) -> Iterator[datetime.date]:
    """The complete days after `day` (the engagements inside its impressions' label windows)."""
    following = day + DAY
    while following < today:
        yield following
        following += DAY
