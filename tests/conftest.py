"""Shared fixtures: the default data loaded once, and the phase reviews rendered once per session
(without kernels: ``PhaseReview(..., sink=[])`` runs every section exactly as the notebook does)."""
from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.review.render import lean_nbformat

# The test processes import nbformat as the review workers do: without rfc3987_syntax, whose 38
# grammars cost ~1 s of every process (each pytest-xdist worker, each CLI run in a subprocess
# takes its own way through evalkit.review.execute).
lean_nbformat()

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "zhuzhou_synthetic"
PARAMS = ROOT / "params"
# Method sizes that keep a rendered review quick; no property tested through these fixtures
# depends on the number of Monte Carlo variants or permutations.
FAST_METHODS = {"uncertainty_runs": 20, "drivers": False, "ri_reps": 19}


# The files that take longest (seconds per file, `pytest --durations=0` summed, 2026-11-30), run
# first: pytest-xdist hands each worker whole files in this order (the Makefile turns off its own
# reordering by test count), so the two workers end within a short file of each other instead
# of one waiting on a long file started last. Order only: a file missing here runs after these.
LONGEST_FIRST = [
    "test_review_analysis.py",  # 26 s
    "test_collect.py",  # 24
    "test_batch.py",  # 22
    "test_review_cache.py",  # 18
    "test_calendars.py",  # 17
    "test_jupyterlab_browser.py",  # 17
    "test_review_e2e.py",  # 15
    "test_review_runner.py",  # 15
    "test_models_synthdid.py",  # 15
    "test_review_summary.py",  # 14
    "test_runner_safety.py",  # 13
    "test_models_absorbed.py",  # 12
    "test_input_cases.py",  # 12
    "test_synth.py",  # 12
]


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(item.path.name, len(rank)), order[id(item)]))


@pytest.fixture(scope="session", autouse=True)
def _isolated_result_cache(tmp_path_factory):
    """Reviews in the tests share one result cache of their own (never the user's ~/.cache):
    phases that share an as-of date reuse each other's estimates, as in a real run. Under
    pytest-xdist the workers of one run share it (its writes are atomic and its keys locked)."""
    import os

    old = os.environ.get("EVALKIT_CACHE")
    if os.environ.get("PYTEST_XDIST_WORKER"):  # gw0, gw1 ... : basetemp is <run>/popen-gwN
        folder = tmp_path_factory.getbasetemp().parent / "evalkit-cache"
        folder.mkdir(exist_ok=True)
    else:
        folder = tmp_path_factory.mktemp("evalkit-cache")
    os.environ["EVALKIT_CACHE"] = str(folder)
    yield
    if old is None:
        os.environ.pop("EVALKIT_CACHE", None)
    else:
        os.environ["EVALKIT_CACHE"] = old


@pytest.fixture(scope="session")
def default_dataset():
    """The bundled synthetic Zhuzhou data, loaded and validated once."""
    import evalkit

    return evalkit.load(DATA)


def render_review(params: Path, *, data_dir: Path | None = None, **methods):
    """A phase review with every section rendered into its page (no kernel)."""
    from evalkit.review.report import PhaseReview

    review = PhaseReview.open(params, data_dir=data_dir, methods={**FAST_METHODS, **methods})
    review = PhaseReview(review.analysis, sink=[])
    review.render_all()
    return review


def all_markup(review) -> str:
    """Everything a rendered review wrote: the review's page and its technical annex."""
    pages = [review.page] + ([review.annex_page] if review.annex_page is not review.page else [])
    return "".join("".join(p.sink or []) for p in pages)


@pytest.fixture(scope="session")
def rendered_reviews():
    """phase id → rendered review, for the four shipped params files (rendered on first use)."""
    cache: dict = {}

    def get(phase: str):
        if phase not in cache:
            cache[phase] = render_review(PARAMS / f"{phase}.yaml")
        return cache[phase]

    return get
