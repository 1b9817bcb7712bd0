"""As-of discipline: a review sees only what was known at its window's end.

:func:`cut` returns the dataset as it stood on the as-of date — the same dataset a user gets by
cutting the files by hand and loading them:

* panel rows of periods ending after the as-of date are dropped, and so are graduate records of
  later cohorts (each period by its own dates: an academic year ends on the day before the
  dataset's ``academic_year_start_month``; a dataset on two calendars is cut on each);
* facts dated after the data's horizon — the end of the last period known by the as-of date
  (never later than the as-of date itself) — are unknown: a later ``member_since`` is blank (that
  unit is not a member yet: it is a comparison unit at that moment), a partnership that started
  later is dropped and a later ``end_date`` is blank (it was still running), checklist evidence
  dated later is dropped. (A fact dated between the last known period's end and the as-of date
  belongs to a period the review cannot see yet; keeping it would make the cut dataset
  contradict its own end, which the validator rightly warns about.)

The cut dataset is validated again, so derived columns (``cohort``, ``member``, ``t``) are
recomputed exactly as :func:`evalkit.load` computes them (every rule but the unique keys: rows of a
table whose keys were unique cannot repeat one).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from evalkit.data.dataset import Dataset, from_validated_rows
from evalkit.data.validation import DERIVED
from evalkit.errors import ParamsError
from evalkit.review.cache import ResultCache, folder_fingerprint


def load_full(folder: Path, cache: ResultCache, loaded: Dataset | None = None) -> Dataset:
    """The validated dataset of ``folder`` (every period), from the result cache while the
    folder's files are unchanged: the runner's preflight loads it once and every review's kernel
    reads it back instead of loading and validating the files again. ``loaded``: the dataset
    just loaded from ``folder`` (the preflight loads first, so size limits are checked before
    any file is hashed), stored instead of loading again."""
    from evalkit.data.dataset import load

    def fresh() -> Dataset:
        full = loaded if loaded is not None else load(folder)
        _ = full.fingerprint  # computed now: a copy read back never opens the files (they may have moved)
        return full

    full = cache.get_or_compute("fulldata", {"folder": folder_fingerprint(Path(folder))}, fresh)
    full.source = Path(folder)  # the same files may sit in another folder
    return full


def cut(dataset: Dataset, as_of: date) -> Dataset:
    """The dataset as known on ``as_of`` (see the module docstring for the rules).

    Parameters
    ----------
    dataset : Dataset
        The full dataset.
    as_of : datetime.date
        The last day whose information may be used.

    Returns
    -------
    Dataset
        A new, validated dataset; ``meta["as_of"]`` records the date and ``meta["source_fingerprint"]``
        the full dataset's fingerprint.
    """
    known = [p for p in dataset.periods if p.end <= as_of]  # the colleges' (main) calendar
    if not known:
        raise ParamsError(
            f"no period of the data ends by {as_of} (the first, {dataset.periods[0].label}, "
            f"ends {dataset.periods[0].end}): the review has no data to look at yet"
        )
    # every calendar's periods ending by then (a mixed dataset: academic and calendar years)
    known_all = [p for p in dataset.all_periods if p.end <= as_of]
    stamp = pd.Timestamp(min(as_of, max(p.end for p in known_all)))  # the horizon (module docstring)
    labels = {p.label for p in known_all}
    units = dataset.units.drop(columns=list(DERIVED["units"]))
    units = units.assign(member_since=units["member_since"].mask(units["member_since"] > stamp))
    panel = dataset.panel[dataset.panel["period"].astype(str).isin(labels)].drop(columns=list(DERIVED["panel"]))
    graduates = None
    if dataset.graduates is not None:
        graduates = dataset.graduates[dataset.graduates["cohort"].astype(str).isin(labels)]
    partnerships = None
    if dataset.partnerships is not None:
        p = dataset.partnerships
        p = p[~(p["start_date"] > stamp)]
        partnerships = p.assign(end_date=p["end_date"].mask(p["end_date"] > stamp))
    evidence = getattr(dataset, "evidence", None)  # checklist evidence dated later is unknown
    if evidence is not None:
        evidence = evidence[~(evidence["as_of"] > stamp)]
    meta = dict(dataset.meta)
    meta["last_period"] = known[-1].label
    meta.setdefault("first_period", known[0].label)
    out = from_validated_rows(units, panel, graduates, partnerships, meta, evidence=evidence)
    out.source = dataset.source
    out.as_of = as_of  # type: ignore[attr-defined]
    out.source_fingerprint = dataset.fingerprint  # type: ignore[attr-defined]
    return out
