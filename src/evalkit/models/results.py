"""Results objects shared by every estimator in :mod:`evalkit.models`: one protocol.

Every result of :mod:`evalkit.models` — :class:`Results` (``ols``, ``glm``, ``twfe``,
``event_study``, the aggregations of ``staggered_did``), ``DidResults``, ``SynthDidResults``,
``RandomizationResults``, ``LeaveOneOutResults``, ``SensitivityResults``,
``PretrendPowerResults``, ``MultipleTestingResults``, ``DriversResults`` — and the result objects
of :mod:`evalkit.composite` (``PipelineResult``, ``UncertaintyResult``, ``AHPResult``,
``AlphaResult``) derive from :class:`BaseResults` and provide

* ``tidy()``: a DataFrame whose leading columns are exactly ``term, estimate, se, ci_low,
  ci_high, p`` (further columns after them, e.g. ``n``, ``vcov``, ``se_crv3``, ``p_wild``);
* ``summary(lang="zh")``: a :class:`Summary` (``__str__`` and ``_repr_html_``);
* ``plot(lang="zh")``: a matplotlib Figure that displays inline in JupyterLab;
* ``ci(level=0.95)``: per-term intervals at any level (DataFrame indexed by term,
  columns ``ci_low, ci_high``);
* ``warnings``: a list of :class:`evalkit.i18n.Message` (codes registered in
  :mod:`evalkit.models.messages`); ``warning_texts(lang)`` renders them.

Results know no language: ``lang`` is an argument of the rendering methods only. Where a column
has no meaning for a result (a robust confidence set has no point estimate, a weight no standard
error) it is NaN; each ``tidy()`` docstring says what ``term`` and ``estimate`` are.
"""

from __future__ import annotations

import html
import pickle
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from evalkit.i18n import Lang, Message, text
from evalkit.models import messages as _messages

if TYPE_CHECKING:
    from matplotlib.figure import Figure

TIDY_COLUMNS = ["term", "estimate", "se", "ci_low", "ci_high", "p"]
EXPLORATORY_ZH, EXPLORATORY_EN = _messages.MESSAGES["models.label.exploratory"]


@dataclass(frozen=True)
class Summary:
    """A printable summary; ``_repr_html_`` renders it in JupyterLab and exported reports.

    Parameters
    ----------
    title : str
        Heading.
    lines : tuple of str
        Facts about the fit, one per line.
    table : pandas.DataFrame
        The ``tidy()`` table.
    notes : tuple of str
        Warnings, already rendered in the summary's language.
    extra : tuple of pandas.DataFrame
        Further tables shown after ``table`` (e.g. a composite index's weights and steps).
    """

    title: str
    lines: tuple[str, ...]
    table: pd.DataFrame
    notes: tuple[str, ...] = ()
    extra: tuple[pd.DataFrame, ...] = ()

    def __str__(self) -> str:
        tables = [t.to_string(index=False, float_format=lambda v: f"{v:.6g}") for t in (self.table, *self.extra)]
        parts = [self.title, *self.lines, *tables]
        parts += [f"! {n}" for n in self.notes]
        return "\n".join(parts)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = f"<h4>{html.escape(self.title)}</h4>"
        lines = "".join(f"<div>{html.escape(x)}</div>" for x in self.lines)
        tables = "".join(
            t.to_html(index=False, float_format=lambda v: f"{v:.4f}", na_rep="", border=0)
            for t in (self.table, *self.extra)
        )
        notes = "".join(f"<div style='color:#D55E00'>⚠ {html.escape(n)}</div>" for n in self.notes)
        return f"<div class='evalkit-summary'>{head}{lines}{tables}{notes}</div>"


@runtime_checkable
class ResultsProtocol(Protocol):
    """What the review layer may rely on for any estimator result (see the module docstring)."""

    warnings: list[Message]

    def tidy(self) -> pd.DataFrame: ...

    def summary(self, lang: Lang = "zh") -> Summary: ...

    def plot(self, lang: Lang = "zh") -> Figure: ...

    def ci(self, level: float = 0.95) -> pd.DataFrame: ...

    def warning_texts(self, lang: Lang = "zh") -> list[str]: ...


def render_warning(w: Message | str, lang: Lang = "zh") -> str:
    """Render one stored warning (a :class:`~evalkit.i18n.Message`; a plain string is shown as is).

    Parameters
    ----------
    w : Message or str
    lang : {"zh", "en", "bilingual"}

    Returns
    -------
    str
    """
    return w.render(lang) if isinstance(w, Message) else str(w)


def critical_value(level: float, dof: float | None = None) -> float:
    """Two-sided critical value: normal (``dof`` None) or Student t with ``dof``.

    Parameters
    ----------
    level : float
        Confidence level in (0, 1).
    dof : float or None
        Degrees of freedom of the t distribution; None for the normal.

    Returns
    -------
    float
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be between 0 and 1 (e.g. 0.95).")
    return float(_quantile(0.5 + level / 2, dof))


def _quantile(q: Any, df: float | None) -> Any:
    """Normal (``df`` None) or Student-t quantile: the special functions scipy.stats's ``ppf``
    calls, without importing scipy.stats (~0.5 s) on a review's render path."""
    from scipy import special

    return special.ndtri(q) if df is None else special.stdtrit(df, q)


def _upper_tail(x: Any, df: float | None) -> Any:
    """Normal or Student-t survival function (scipy.stats's ``sf``, by its special functions)."""
    from scipy import special

    return special.ndtr(-x) if df is None else special.stdtr(df, -x)


class PickledModel:
    """A fitted library model kept as pickle bytes and loaded on first use: a result read back
    from the result cache does not import the library until it is asked for something only the
    model knows (see :meth:`evalkit.models.did.DidResults.__getstate__`)."""

    def __init__(self, model: Any) -> None:
        self._blob = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        self._loaded: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {"_blob": self._blob, "_loaded": None}

    def __getattr__(self, name: str) -> Any:  # only for names not set in __init__
        if name.startswith("__") or "_blob" not in self.__dict__:
            raise AttributeError(name)
        if self.__dict__["_loaded"] is None:
            self.__dict__["_loaded"] = pickle.loads(self._blob)
        return getattr(self.__dict__["_loaded"], name)


class BaseResults:
    """The shared base of every estimator result (the one results protocol).

    Subclasses implement ``tidy``, ``summary`` and ``plot``; the base gives ``ci`` (from
    ``tidy()``'s estimate and se with the normal distribution unless ``_ci_dof`` says otherwise),
    ``warning_texts`` and the notebook representation.
    """

    warnings: list[Message]

    def tidy(self) -> pd.DataFrame:
        """One row per term; leading columns ``term, estimate, se, ci_low, ci_high, p``.

        Returns
        -------
        pandas.DataFrame
        """
        raise NotImplementedError

    def summary(self, lang: Lang = "zh") -> Summary:
        """A printable summary in ``lang``.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        raise NotImplementedError

    def plot(self, lang: Lang = "zh") -> Figure:
        """The result's standard figure, labelled in ``lang``.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        matplotlib.figure.Figure
            Displays inline in JupyterLab (``_repr_png_``).
        """
        raise NotImplementedError

    def _ci_dof(self) -> float | None:
        return None

    def ci(self, level: float = 0.95) -> pd.DataFrame:
        """Per-term confidence intervals at ``level``.

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        pandas.DataFrame
            Indexed by term, columns ``ci_low`` and ``ci_high``.
        """
        t = self.tidy()
        crit = critical_value(level, self._ci_dof())
        est, se = t["estimate"].to_numpy(dtype=float), t["se"].to_numpy(dtype=float)
        return pd.DataFrame(
            {"ci_low": est - crit * se, "ci_high": est + crit * se}, index=pd.Index(t["term"], name="term")
        )

    def warning_texts(self, lang: Lang = "zh") -> list[str]:
        """The stored warnings rendered in ``lang``.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        list of str
        """
        return [render_warning(w, lang) for w in self.warnings]

    @property
    def warning_codes(self) -> list[str]:
        """The message codes of the stored warnings (plain-string warnings give ``""``)."""
        return [w.code if isinstance(w, Message) else "" for w in self.warnings]

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()


@dataclass(repr=False)
class Results(BaseResults):
    """Estimates of one model.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by term with columns ``estimate, se, ci_low, ci_high, p`` (and any further
        columns an estimator adds, e.g. ``se_crv3``, ``p_crv3``, ``p_wild``).
    method : str
        Technical name of the estimator and specification (language-neutral).
    vcov : str
        The variance convention, e.g. ``"iid"``, ``"HC1"``, ``"CRV1(unit)"``, ``"CRV1(firm+year)"``.
    n : int
        Observations used.
    kind : {"coef", "event"}
        Coefficient plot or event-study plot.
    overall, overall_se : float, optional
        A single summary figure (an aggregated ATT); ``.estimate`` / ``.se`` return it when
        present and the per-term Series otherwise.
    alpha : float
        1 − the confidence level of the ``ci_low`` / ``ci_high`` columns.
    warnings : list of evalkit.i18n.Message
        Conditions found while fitting (codes in :mod:`evalkit.models.messages`).
    info : dict
        Further facts (``formula``, ``clusters``, ``vcov_note`` …).
    lang : optional
        Deprecated and ignored (results know no language; pass ``lang`` to ``summary``/``plot``).
    dof : float, optional
        Degrees of freedom of the t distribution used for inference (None: normal).
    title : evalkit.i18n.Message, optional
        Localised heading for ``summary``/``plot`` (default: ``method``).
    """

    table: pd.DataFrame
    method: str
    vcov: str
    n: int
    kind: Literal["coef", "event"] = "coef"
    overall: float | None = None
    overall_se: float | None = None
    alpha: float = 0.05
    warnings: list[Message] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    lang: Lang | None = None
    dof: float | None = None
    title: Message | None = None

    # -- labelled access -------------------------------------------------------------------
    @property
    def estimate(self) -> float | pd.Series:
        """The overall figure when there is one, else the per-term estimates."""
        return self.overall if self.overall is not None else self.table["estimate"]

    @property
    def se(self) -> float | pd.Series:
        """The overall figure's SE when there is one, else the per-term SEs."""
        return self.overall_se if self.overall is not None else self.table["se"]

    @property
    def params(self) -> pd.Series:
        """Per-term estimates."""
        return self.table["estimate"]

    def _ci_dof(self) -> float | None:
        return self.dof

    def overall_ci(self, level: float = 0.95) -> tuple[float, float]:
        """Confidence interval of the overall figure (normal).

        Parameters
        ----------
        level : float, default 0.95

        Returns
        -------
        tuple of float
            (low, high).
        """
        if self.overall is None or self.overall_se is None:
            raise ValueError("This result has no overall figure; use ci() for per-term intervals.")
        z = critical_value(level, None)
        return (self.overall - z * self.overall_se, self.overall + z * self.overall_se)

    def tidy(self) -> pd.DataFrame:
        """One row per term: term, estimate, se, ci_low, ci_high, p, then n, vcov and any extra
        columns.

        Returns
        -------
        pandas.DataFrame
        """
        out = self.table.reset_index(names="term")
        out["n"] = self.n
        out["vcov"] = self.vcov
        first = TIDY_COLUMNS + ["n", "vcov"]
        return out[first + [c for c in out.columns if c not in first]]

    def heading(self, lang: Lang = "zh") -> str:
        """The localised title (``title``) or the technical ``method`` name."""
        return self.title.render(lang) if self.title is not None else self.method

    def summary(self, lang: Lang = "zh") -> Summary:
        """Observations, variance convention, overall figure, scalar ``info`` and the table.

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}

        Returns
        -------
        Summary
        """
        lines = [
            f"{text('models.label.observations', lang)}: {self.n}",
            f"{text('models.label.variance', lang)}: {self.vcov}",
        ]
        if self.overall is not None and self.overall_se is not None:
            lo, hi = self.overall_ci(1 - self.alpha)
            lines.append(
                f"{text('models.label.overall', lang)}: {self.overall:.4f} "
                f"(SE {self.overall_se:.4f}; {1 - self.alpha:.0%} CI {lo:.4f}, {hi:.4f})"
            )
        for key, value in self.info.items():
            if isinstance(value, (str, int, float)):
                lines.append(f"{key}: {value}")
        return Summary(self.heading(lang), tuple(lines), self.tidy(), tuple(self.warning_texts(lang)))

    def __repr__(self) -> str:
        return str(self.summary())

    # -- figures -----------------------------------------------------------------------------
    def plot(self, lang: Lang = "zh", *, title: str | None = None) -> Figure:
        """Coefficient plot (``kind="coef"``) or event-study plot with a CI band and the
        treatment line (``kind="event"``).

        Parameters
        ----------
        lang : {"zh", "en", "bilingual"}
        title : str, optional
            Overrides the localised heading.

        Returns
        -------
        matplotlib.figure.Figure
            Displays inline in JupyterLab.
        """
        heading = title if title is not None else self.heading(lang)
        if self.kind == "event":
            return event_plot(self.table, lang=lang, title=heading, ref=self.info.get("reference_period"))
        return coef_plot(self.table, lang=lang, title=heading, level=1 - self.alpha)


def coef_plot(table: pd.DataFrame, *, lang: Lang = "zh", title: str = "", level: float = 0.95) -> Figure:
    """Estimates with their intervals, one row per term.

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by term with ``estimate``, ``ci_low``, ``ci_high``.
    lang : {"zh", "en", "bilingual"}
    title : str
    level : float
        The level of the intervals in ``table`` (axis label only).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evalkit.plotting import PALETTE, new_figure

    t = table.iloc[::-1]
    fig = new_figure(7.0, max(2.0, 0.45 * len(t) + 1.2))
    ax = fig.add_subplot()
    y = np.arange(len(t))
    ax.errorbar(
        t["estimate"],
        y,
        xerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
        fmt="o",
        color=PALETTE[0],
        ecolor=PALETTE[0],
        capsize=3,
    )
    ax.axvline(0, color="grey", lw=0.8, ls="--")
    ax.set_yticks(y, [str(i) for i in t.index])
    ax.set_xlabel(text("models.label.coef_axis", lang, level=f"{100 * level:g}"))
    ax.set_title(title)
    return fig


def event_plot(
    table: pd.DataFrame,
    *,
    lang: Lang = "zh",
    title: str = "",
    ref: float | None = None,
    extra: dict[str, pd.DataFrame] | None = None,
) -> Figure:
    """Event-time estimates with a confidence band, the zero line and the treatment line
    (between event time -1 and 0).

    Parameters
    ----------
    table : pandas.DataFrame
        Indexed by event time with ``estimate``, ``ci_low``, ``ci_high``.
    lang : {"zh", "en", "bilingual"}
    title : str
    ref : float, optional
        The reference (omitted) event time, drawn as an open circle at zero.
    extra : dict, optional
        Further estimators' tables to overlay, by name.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from evalkit.plotting import PALETTE, new_figure

    fig = new_figure()
    ax = fig.add_subplot()
    series = {title or "": table, **(extra or {})}
    for i, (name, t) in enumerate(series.items()):
        e = np.asarray(t.index, dtype=float) + (0.08 * i if i else 0.0)
        colour = PALETTE[i % len(PALETTE)]
        ax.fill_between(e, t["ci_low"], t["ci_high"], color=colour, alpha=0.2, lw=0)
        ax.plot(e, t["estimate"], "o-", color=colour, label=name or None)
    if ref is not None:
        ax.plot(
            [ref], [0.0], marker="o", mfc="white", color="black", ls="none", label=text("models.label.reference", lang)
        )
    ax.axhline(0, color="grey", lw=0.8)
    ax.axvline(-0.5, color=PALETTE[3], ls="--", lw=1.2, label=text("models.label.treatment_starts", lang))
    ax.set_xlabel(text("models.label.event_x", lang))
    ax.set_ylabel(text("models.label.event_y", lang))
    ax.set_title(title)
    ax.legend(loc="best", fontsize="small")
    return fig


def coef_table(
    estimate: Any, se: Any, *, p: Any = None, df: float | None = None, alpha: float = 0.05, index: Any = None
) -> pd.DataFrame:
    """Table with estimate, se, CI and p.

    Parameters
    ----------
    estimate, se : array-like
    p : array-like, optional
        p-values; computed from ``estimate / se`` when omitted.
    df : float, optional
        None → normal; else Student t with ``df`` degrees of freedom.
    alpha : float
        1 − confidence level.
    index : array-like, optional
        Term names.

    Returns
    -------
    pandas.DataFrame
        Columns estimate, se, ci_low, ci_high, p.
    """
    estimate = np.asarray(estimate, dtype=float)
    se = np.asarray(se, dtype=float)
    crit = _quantile(1 - alpha / 2, df)
    if p is None:
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * _upper_tail(np.abs(estimate / se), df)
    return pd.DataFrame(
        {
            "estimate": estimate,
            "se": se,
            "ci_low": estimate - crit * se,
            "ci_high": estimate + crit * se,
            "p": np.asarray(p, dtype=float),
        },
        index=pd.Index(index, name="term") if index is not None else None,
    )
