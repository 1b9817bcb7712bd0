"""``PhaseReview``: the thin facade ``notebooks/phase_review.ipynb`` calls, one call per section.

It pairs a :class:`~evalkit.review.analysis.PhaseAnalysis` (every number, computed once, never
displayed) with a :class:`~evalkit.review.html.Page` (the report's language). Researchers use the
same object in JupyterLab::

    review = PhaseReview.open("params/phase2.yaml")
    review.composite_index()
    equal = review.with_methods(weighting="equal")   # a new review; this one is unchanged
    review.save_results("results.json")
"""

from __future__ import annotations

import json
import platform
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.review import sections as s1
from evalkit.review import sections_estimates as s2
from evalkit.review.analysis import PhaseAnalysis, open_analysis
from evalkit.review.html import Page

ALL_SECTIONS = (
    "cover",
    "key_findings",
    "data_quality",
    "dashboard",
    "trends",
    "composite_index",
    "coupling",
    "membership_did",
    "phase_comparison",
    "appendix",
    "annex",
)
BEIJING = timezone(timedelta(hours=8))
RESULTS_SCHEMA = 1


class PhaseReview:
    """One phase's review: an analysis and the page it renders on."""

    def __init__(self, analysis: PhaseAnalysis, *, sink: list[str] | None = None):
        self.analysis = analysis
        self.page = Page(analysis.phase.language, synthetic=analysis.dataset.synthetic, sink=sink)
        self.started = datetime.now(timezone.utc)

    @classmethod
    def open(
        cls, params_file: str | Path, *, data_dir: str | Path | None = None, methods: dict[str, Any] | None = None
    ) -> PhaseReview:
        """Read a params file, load and check its data (cut at the as-of date), and return the review.

        Parameters
        ----------
        params_file : str or Path
            A phase params file (``params/phase2.yaml``).
        data_dir : str or Path, optional
            A data folder instead of the one the params file names.
        methods : dict, optional
            Method choices overriding the params file's (validated like the file's).

        Returns
        -------
        PhaseReview
        """
        return cls(open_analysis(params_file, data_dir=data_dir, methods=methods))

    def with_methods(self, **changes: Any) -> PhaseReview:
        """A new review with some method choices changed, e.g. ``with_methods(weighting="equal")``."""
        return PhaseReview(self.analysis.with_methods(**changes), sink=[] if self.page.sink is not None else None)

    def render_all(self) -> str:
        """Every section in order into this review's page; returns the markup when collecting."""
        for name in ALL_SECTIONS:
            getattr(self, name)()
        return "".join(self.page.sink or [])

    # ------------------------------------------------------------------ conveniences
    @property
    def phase(self):
        return self.analysis.phase

    @property
    def dataset(self):
        return self.analysis.dataset

    @property
    def registry(self):
        return self.analysis.registry

    @property
    def methods(self):
        return self.analysis.methods

    @property
    def lang(self) -> str:
        return self.page.lang

    @property
    def min_cell(self) -> int:
        return self.phase.min_cell

    # ------------------------------------------------------------------ sections
    def cover(self) -> None:
        s1.cover(self.analysis, self.page, self._provenance())

    def key_findings(self) -> None:
        s1.key_findings(self.analysis, self.page)

    def data_quality(self) -> None:
        s1.data_quality(self.analysis, self.page, min_cell=self.min_cell)

    def dashboard(self) -> None:
        s1.dashboard(self.analysis, self.page, min_cell=self.min_cell)

    def trends(self, indicators: list[str] | None = None) -> None:
        s1.trends(self.analysis, self.page, indicators)

    def composite_index(self) -> None:
        s2.composite_index(self.analysis, self.page)

    def coupling(self) -> None:
        s2.coupling(self.analysis, self.page)

    def membership_did(self) -> None:
        s2.membership_did(self.analysis, self.page)

    def phase_comparison(self) -> None:
        s2.phase_comparison(self.analysis, self.page)

    def appendix(self) -> None:
        s2.appendix(self.analysis, self.page, min_cell=self.min_cell)

    def annex(self) -> None:
        s2.annex(self.analysis, self.page)

    # kept for notebooks written before the annex existed: both now render in the annex
    def effects(self) -> None:
        """The input→outcome regressions (rendered in the technical annex)."""
        self.annex()

    def drivers(self) -> None:
        """Kept for older notebooks: the exploratory drivers are part of :meth:`annex`."""

    # ------------------------------------------------------------------ results
    def results(self) -> dict[str, Any]:
        """Every number the review showed, as plain JSON types (see docs/RESULTS.md)."""
        a = self.analysis
        tg = a.targets
        targets = []
        for r in tg.to_dict("records"):
            targets.append({k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()})
        return {
            "schema": RESULTS_SCHEMA,
            "phase": a.phase.phase_id,
            "kind": a.phase.kind,
            "window": {"start": a.phase.start.isoformat(), "end": a.phase.end.isoformat()},
            "as_of": a.as_of.isoformat(),
            "baseline": {"start": a.baseline[0].isoformat(), "end": a.baseline[1].isoformat()},
            "methods": a.methods_ran(),
            "targets": targets,
            "tables": dict(self.page.tables),
            "provenance": {
                "evalkit": __version__,
                "data_fingerprint": a.full_fingerprint,
                "synthetic": a.dataset.synthetic,
            },
        }

    def save_results(self, path: str | Path) -> Path | None:
        """Write :meth:`results` to ``path`` (nothing when ``path`` is empty)."""
        if not path:
            return None
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.results(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
        tmp.replace(path)
        return path

    def _provenance(self) -> list[tuple[str, str, str]]:
        from evalkit.review.sections import relative_name

        ph = self.phase
        try:
            from evalkit.provenance import git_commit
        except ImportError:  # the runner kept it before provenance had a module of its own
            from evalkit.review.runner import git_commit  # type: ignore[no-redef]
        versions = _versions()
        return [
            ("evalkit 版本", "evalkit version", __version__),
            ("代码提交", "git commit", git_commit() or "—"),
            ("数据文件夹", "data folder", relative_name(ph.data, ph.source.parent.parent if ph.source else None)),
            ("数据指纹 (SHA-256)", "data fingerprint (SHA-256)", self.analysis.full_fingerprint),
            ("信息截止日", "as of", self.analysis.as_of.isoformat()),
            ("参数文件", "params file", relative_name(ph.source, ph.source.parent.parent if ph.source else None)),
            ("参数文件指纹", "params fingerprint", _sha256(ph.source) if ph.source else "—"),
            ("生成时间", "generated", self.started.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M (UTC+8)")),
            (
                "软件环境",
                "software",
                f"Python {platform.python_version()}, " + ", ".join(f"{k} {v}" for k, v in versions.items()),
            ),
        ]


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("pandas", "numpy", "statsmodels", "pyfixest", "csdid", "scikit-learn"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out
