"""Planning a review run: which params files, checked against their data *before any kernel
starts*, become which :class:`Job` (one papermill execution each)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, Iterable

from evalkit.errors import EvalkitError, ParamsError
from evalkit.provenance import file_sha256, project_root

NOTEBOOK_NAME = "phase_review.ipynb"


@dataclass(frozen=True)
class Job:
    """One review to run: a params file over a data folder into the report folder ``out``.

    Paths are absolute strings, so a job means the same on a Dask worker that mounts them.
    ``root`` is the folder the report's paths are expressed in (the project, or a batch
    manifest's folder); ``label`` names the review in a batch (``<consortium>/<phase>``).
    """

    phase_id: str
    params_file: str
    data_dir: str
    out: str = ""
    notebook: str = ""
    timeout: float = 900
    html: bool = True
    pdf: bool = False
    docx: bool = False
    name_comparisons: bool = False
    title: str = ""
    language: str = "zh"
    fingerprint: str | None = None
    synthetic: bool = False
    params_sha256: str | None = None
    root: str = ""
    label: str = ""
    consortium: str = ""
    consortium_name: str = ""
    # files the review reads besides its params: registry, framework
    referenced: tuple[str, ...] = ()
    compared: tuple[str, ...] = ()  # a final review: what it reads of each compared phase (compared_reads)
    as_of: str = ""  # the date the review sees the data as of (reviews of one date share results)
    inputs_key: str | None = None  # review.reuse.inputs_key: what the output depends on

    @property
    def key(self) -> str:
        """The review's name in progress lines and the index: ``label``, else ``phase_id``."""
        return self.label or self.phase_id

    def with_(self, **changes: Any) -> "Job":
        """A copy with ``changes`` applied."""
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The job as a plain dict."""
        return asdict(self)

    @classmethod
    def coerce(cls, job: "Job | dict[str, Any]") -> "Job":
        """A ``Job`` from a job or a dict of its fields (unknown keys are ignored)."""
        if isinstance(job, Job):
            return job
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in job.items() if k in names})


def default_notebook() -> Path:
    """``notebooks/phase_review.ipynb`` of the working folder, else of the checkout.

    Raises
    ------
    EvalkitError
        When neither has one.
    """
    for base in (Path.cwd(), project_root()):
        nb = base / "notebooks" / NOTEBOOK_NAME
        if nb.exists():
            return nb
    raise EvalkitError(f"notebooks/{NOTEBOOK_NAME} not found; run evalkit from the project folder.")


def discover_params(params_dir: Path, phases: Iterable[str] = (), all_: bool = False) -> list[Path]:
    """The params files to run: the named phases, or every ``*.yaml`` in ``params_dir``.

    Parameters
    ----------
    params_dir : Path
        The params folder.
    phases : iterable of str
        Phase ids (``phase1`` or ``phase1.yaml``); empty for all.
    all_ : bool
        Every params file, whatever ``phases`` says.

    Returns
    -------
    list of Path
        Phases in name order, ``final`` last.

    Raises
    ------
    ParamsError
        A missing folder, a phase without a params file, or no params file at all.
    """
    params_dir = Path(params_dir)
    if not params_dir.is_dir():
        raise ParamsError(f"params folder not found: {params_dir}")
    phases = list(phases)
    if phases and not all_:
        paths: list[Path] = []
        missing: list[Path] = []
        for p in phases:
            path = params_dir / (p if p.endswith((".yaml", ".yml")) else f"{p}.yaml")
            (paths if path.exists() else missing).append(path)
        if missing:
            known = ", ".join(sorted(x.stem for x in params_dir.glob("*.yaml")))
            raise ParamsError("no params file for " + ", ".join(m.stem for m in missing) + f" (known: {known})")
        return paths
    paths = sorted(params_dir.glob("*.yaml"))
    if not paths:
        raise ParamsError(f"no *.yaml params files in {params_dir}")
    return sorted(paths, key=lambda p: (p.stem == "final", p.stem))


# What a final review reads of each phase it compares (review/analysis.py: the windows and
# their titles). Its reuse key holds exactly these, so an edit to a compared phase's targets or
# methods does not rerun the final review; a test records that it reads nothing else.
COMPARED_READS = ("phase_id", "window", "title_zh", "title_en")


def compared_reads(source: Path, phase_ids: Iterable[str], data: Path | None = None) -> tuple[str, ...]:
    """``COMPARED_READS`` of each compared phase (params files beside ``source``, loaded with the
    final review's ``data`` as the analysis loads them), as JSON text."""
    from evalkit.review.phases import load_phase

    out = []
    for pid in phase_ids:
        ph = load_phase(source.parent / f"{pid}.yaml", data=data)
        out.append(json.dumps({name: getattr(ph, name) for name in COMPARED_READS}, default=str, ensure_ascii=False))
    return tuple(out)


def preflight(paths: list[Path], data: Path | None = None) -> list[Job]:
    """Validate every params file and its data before any kernel starts.

    Parameters
    ----------
    paths : list of Path
        Params files (from :func:`discover_params`).
    data : Path, optional
        A data folder overriding every params file's.

    Returns
    -------
    list of Job
        One per phase, without ``out`` and ``notebook`` (the caller sets them).

    Raises
    ------
    ParamsError
        Listing every problem of every params file.
    """
    from evalkit.data.dataset import load
    from evalkit.review.asof import load_full
    from evalkit.review.cache import ResultCache
    from evalkit.indicators.registry import load_registry
    from evalkit.review.phases import check_against, load_phase

    jobs: list[Job] = []
    problems: list[str] = []
    datasets: dict[Path, Any] = {}
    for path in paths:
        try:
            phase = load_phase(path, data=data)
        except ParamsError as exc:
            problems.append(exc.args[0] if exc.args else str(exc))
            continue
        if phase.data not in datasets:
            if not phase.data.exists():
                problems.append(f"{path}: data folder not found: {phase.data}")
                continue
            # loaded here first (size limits before any hashing), then kept in the result cache:
            # each review's kernel reads it back (review/asof.load_full)
            datasets[phase.data] = load_full(Path(phase.data), ResultCache.default(), loaded=load(phase.data))
        ds = datasets[phase.data]
        try:
            registry = load_registry(phase.registry)
        except EvalkitError as exc:  # the params file's `registry:` key names it
            problems.append(f"{path}, key registry: " + (exc.args[0] if exc.args else str(exc)))
            continue
        try:
            check_against(phase, ds, registry)
        except EvalkitError as exc:
            problems.append(exc.args[0] if exc.args else str(exc))
            continue
        source = Path(phase.source or path).resolve()  # load_phase sets it to path
        try:
            compared = compared_reads(source, phase.compare_phases, phase.data)
        except ParamsError as exc:  # the final review could not load it: said now, not in a kernel
            problems.append(exc.args[0] if exc.args else str(exc))
            continue
        jobs.append(
            Job(
                phase_id=phase.phase_id,
                params_file=str(source),
                data_dir=str(Path(phase.data).resolve()),
                title=phase.title,
                language=phase.language,
                fingerprint=ds.fingerprint,
                synthetic=bool(ds.synthetic),
                params_sha256=file_sha256(source),
                referenced=tuple(str(Path(f).resolve()) for f in (phase.registry, phase.framework) if f),
                compared=compared,
                as_of=phase.as_of.isoformat(),
            )
        )
    if problems:
        raise ParamsError("\n".join(problems))
    return jobs


def running_order(jobs: list[Job]) -> list[Job]:
    """The jobs in the order to start them. Reviews of the same data as of the same date (phase 3
    and the final) share their estimates through the result cache: run at once, the second waits
    on the first's locks with its worker idle. So the first review of each shared date starts
    first, reviews that share nothing next, and the repeats last, when their estimates are (nearly)
    ready to be read back."""
    groups: dict[tuple[str | None, str], list[Job]] = {}
    for i, job in enumerate(jobs):
        groups.setdefault((job.fingerprint, job.as_of or f"#{i}"), []).append(job)
    shared = [g[0] for g in groups.values() if len(g) > 1]
    alone = [g[0] for g in groups.values() if len(g) == 1]
    return shared + alone + [j for g in groups.values() for j in g[1:]]


class OptionError(EvalkitError):
    """A command-line option is out of range."""

    hint = "What to do: see the command's help (`evalkit review --help`, `evalkit batch --help`) and run again."


def check_options(jobs: int, timeout: float, *, name: str = "--timeout") -> None:
    """Refuse ``--jobs`` below 1 and a ``--timeout`` (or the option ``name``) that is not a
    positive number of seconds.

    Raises
    ------
    OptionError
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise OptionError(f"--jobs must be at least 1, got {jobs}")
    if (
        not isinstance(timeout, (int, float))
        or isinstance(timeout, bool)
        or not timeout > 0
        or timeout != timeout
        or timeout == float("inf")
    ):
        raise OptionError(f"{name} must be a positive number of seconds, got {timeout}")
