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
from evalkit.data.calendars import as_record
from evalkit.review import sections as s1
from evalkit.review import sections_estimates as s2
from evalkit.review import sections_summary as s3
from evalkit.review.analysis import PhaseAnalysis, open_analysis
from evalkit.review.html import Page

# the review (at most 8 A4 pages): page 1 is the summary; one chapter per framework dimension
MAIN_SECTIONS = ("cover", "summary", "key_findings", "chapters", "outlook", "trends", "annex_link")
# the technical annex (annex.html when the review writes it apart, else after the review)
ANNEX_SECTIONS = (
    "provenance",
    "data_quality",
    "dashboard",
    "composite_index",
    "coupling",
    "membership_did",
    "phase_comparison",
    "appendix",
    "rules",
    "annex",
)
ALL_SECTIONS = MAIN_SECTIONS + ANNEX_SECTIONS
BEIJING = timezone(timedelta(hours=8))
RESULTS_SCHEMA = 1


class PhaseReview:
    """One phase's review: an analysis and the page it renders on."""

    def __init__(
        self,
        analysis: PhaseAnalysis,
        *,
        sink: list[str] | None = None,
        separate_annex: bool = False,
        name_comparisons: bool = False,
        framework: Any = None,
    ):
        self.analysis = analysis
        lang, synthetic = analysis.phase.language, analysis.dataset.synthetic
        self.page = Page(lang, synthetic=synthetic, sink=sink)
        # the technical annex: its own page (annex.html) or, by default, after the review
        self.annex_page = Page(lang, synthetic=synthetic, sink=[] if separate_annex else sink)
        self.separate_annex = separate_annex
        self.name_comparisons = name_comparisons
        self._framework = framework
        self.started = datetime.now(timezone.utc)

    @classmethod
    def open(
        cls,
        params_file: str | Path,
        *,
        data_dir: str | Path | None = None,
        methods: dict[str, Any] | None = None,
        separate_annex: bool = False,
        name_comparisons: bool = False,
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
        separate_annex : bool
            Render the technical annex on its own page (written by :meth:`save_annex`).
        name_comparisons : bool
            Show comparison units by name (anonymised by default).

        Returns
        -------
        PhaseReview
        """
        return cls(
            open_analysis(params_file, data_dir=data_dir, methods=methods),
            separate_annex=separate_annex,
            name_comparisons=name_comparisons,
        )

    def with_methods(self, **changes: Any) -> PhaseReview:
        """A new review with some method choices changed, e.g. ``with_methods(weighting="equal")``."""
        return PhaseReview(
            self.analysis.with_methods(**changes),
            sink=[] if self.page.sink is not None else None,
            separate_annex=self.separate_annex,
            name_comparisons=self.name_comparisons,
            framework=self._framework,
        )

    def render_all(self) -> str:
        """Every section in order (the annex into its own page when apart); returns the review's
        markup when collecting."""
        for name in ALL_SECTIONS:
            getattr(self, name)()
        return "".join(self.page.sink or [])

    # ------------------------------------------------------------------ framework
    @property
    def framework(self):
        """The evaluation framework: the params file's ``framework:``, else the project's reading."""
        if self._framework is None:
            from evalkit.review.framework import load_framework

            self._framework = load_framework(getattr(self.phase, "framework", None), registry=self.registry)
        return self._framework

    @property
    def evaluation(self):
        """The framework applied to this review's analysis (:func:`evalkit.review.verdict.evaluate`)."""
        from evalkit.review.verdict import evaluate

        return evaluate(self.analysis, self.framework)

    def _names(self):
        """Comparison units named (``name_comparisons``) or anonymised while a section renders."""
        return s1.naming(self.name_comparisons)

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
        s1.cover(self.analysis, self.page, self._provenance(), table=False)
        s3.framework_line(self.evaluation, self.page)

    def summary(self) -> None:
        """Page 1 (摘要): red lines, verdict and its rule, scorecard, risks, recommendations."""
        s3.summary(self.analysis, self.page, self.evaluation)

    def key_findings(self) -> None:
        with self._names():
            s1.key_findings(self.analysis, self.page, targets=False)

    def chapters(self) -> None:
        """One chapter per second-level dimension of the framework."""
        s3.chapters(self.analysis, self.page, self.evaluation)

    def outlook(self) -> None:
        """End-of-build forecasts (phase reviews) or the phases compared per dimension (final)."""
        s3.outlook(self.analysis, self.page, self.evaluation)

    def trends(self, indicators: list[str] | None = None) -> None:
        if indicators is None:  # the main outcomes and targets: four panels keep the review short
            a = self.analysis
            wanted = list(dict.fromkeys([*a.methods.did_outcomes, *a.phase.targets, *a.methods.twfe_inputs]))
            indicators = [i for i in wanted if i in a.registry.ids][:4]
        s1.trends(self.analysis, self.page, indicators)

    def annex_link(self) -> None:
        if self.separate_annex:
            s3.annex_link(self.page)

    # the technical annex
    @property
    def _annex(self) -> Page:
        """The annex's page, in the review's language (which a researcher may change)."""
        self.annex_page.lang = self.page.lang
        return self.annex_page

    def provenance(self) -> None:
        s1.provenance_table(self._annex, self._provenance())

    def data_quality(self) -> None:
        s1.data_quality(self.analysis, self._annex, min_cell=self.min_cell)

    def dashboard(self) -> None:
        with self._names():
            s1.dashboard(self.analysis, self._annex, min_cell=self.min_cell)

    def composite_index(self) -> None:
        with self._names():
            s2.composite_index(self.analysis, self._annex)

    def coupling(self) -> None:
        s2.coupling(self.analysis, self._annex)

    def membership_did(self) -> None:
        s2.membership_did(self.analysis, self._annex)

    def phase_comparison(self) -> None:
        s2.phase_comparison(self.analysis, self._annex)

    def appendix(self) -> None:
        s2.appendix(self.analysis, self._annex, min_cell=self.min_cell)

    def rules(self) -> None:
        """The framework, the verdict rule and the recommendation rules (annex)."""
        s3.rules(self.analysis, self._annex, self.evaluation)

    def annex(self) -> None:
        s2.annex(self.analysis, self._annex)

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
        ev = self.evaluation
        return {
            "schema": RESULTS_SCHEMA,
            "phase": a.phase.phase_id,
            "kind": a.phase.kind,
            "window": {"start": a.phase.start.isoformat(), "end": a.phase.end.isoformat()},
            "as_of": a.as_of.isoformat(),
            "baseline": {"start": a.baseline[0].isoformat(), "end": a.baseline[1].isoformat()},
            "calendars": as_record(a.dataset.calendars),
            "methods": a.methods_ran(),
            "targets": targets,
            "framework": {
                "title": ev.framework.title_zh if self.lang != "en" else ev.framework.title_en,
                "default": ev.framework.is_default,
                "official": ev.framework.official,
                "label": ev.framework.label(self.lang),
            },
            "verdict": _plain(ev.verdict),
            "red_lines": _plain(ev.red_lines),
            "scorecard": _plain(ev.scorecard.to_dict("records")),
            "points": _plain(ev.points.to_dict("records")),
            "risks": _plain(ev.risks),
            "recommendations": _plain(ev.recommendations),
            "forecast": _plain(ev.forecast.to_dict("records")),
            "tables": {**self.page.tables, **self.annex_page.tables},
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

    def save_annex(self, path: str | Path) -> Path | None:
        """Write the technical annex (rendered apart) as a self-contained ``annex.html``."""
        if not path or not self.separate_annex:
            return None
        path = Path(path)
        title = self.page.t(f"{self.phase.title_zh}：技术附录", f"{self.phase.title_en}: technical annex")
        back = self.page.t("返回评估报告", "back to the review")
        head = f"<h1>{self.page.esc(title)}</h1><p><a href='review.html'>{self.page.esc(back)}</a></p>"
        page = s3.standalone_page(head + "".join(self.annex_page.sink or []), title=title, lang=self.lang)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(page, encoding="utf-8")
        tmp.replace(path)
        return path

    def save_docx(self, path: str | Path) -> Path | None:
        """Write the review for panels as Word (``review.docx``) from :meth:`results` and figures."""
        if not path:
            return None
        from evalkit.review.word import write_docx

        results = {**self.results(), "title": self.phase.title}
        return write_docx(results, Path(path), figures=s3.docx_figures(self), lang=self.lang)

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


def _plain(obj: Any) -> Any:
    """JSON-ready: NaN → None, numpy scalars → Python."""
    import math

    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, (str, bytes)):
        obj = obj.item()
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return obj


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
