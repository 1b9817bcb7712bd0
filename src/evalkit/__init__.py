"""evalkit — evaluate a city-level industry–education consortium (市域产教联合体).

The public API (notebooks import only these)::

    import evalkit
    ds = evalkit.load("data/zhuzhou_synthetic")          # Dataset, validated (DataError lists every problem)
    reg = evalkit.load_registry()                        # the indicator registry (or your own YAML)
    table = evalkit.metrics.compute(ds, reg)             # unit × period × indicator
    evalkit.composite.entropy_weights(X, form="minmax")  # composite methods
    evalkit.models.twfe(df, y=..., x=[...], unit=..., time=...)
    review = evalkit.PhaseReview.open("params/phase2.yaml")  # the phase review's sections

Submodules are imported on first use, so ``import evalkit`` stays light.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "load": ("evalkit.data.dataset", "load"),
    "validate": ("evalkit.data.dataset", "validate"),
    "Dataset": ("evalkit.data.dataset", "Dataset"),
    "load_registry": ("evalkit.indicators.registry", "load_registry"),
    "load_phase": ("evalkit.review.phases", "load_phase"),
    "PhaseReview": ("evalkit.review.report", "PhaseReview"),
    "run_reviews": ("evalkit.review.runner", "run_reviews"),
    "DataError": ("evalkit.errors", "DataError"),
    "EvalkitError": ("evalkit.errors", "EvalkitError"),
}
# Short names for the rooms' most used modules (``evalkit.metrics.compute(...)`` keeps working).
_SUBMODULES = {
    "metrics": "evalkit.indicators.metrics",
    "registry": "evalkit.indicators.registry",
    "composite": "evalkit.composite",
    "models": "evalkit.models",
    "synth": "evalkit.data.synth",
    "schema": "evalkit.data.schema",
    "periods": "evalkit.data.periods",
    "template": "evalkit.data.template",
    "plotting": "evalkit.plotting",
    "privacy": "evalkit.privacy",
}

__all__ = ["__version__", *_LAZY, *_SUBMODULES]


def __getattr__(name: str):
    if name in _LAZY:
        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
    elif name in _SUBMODULES:
        value = importlib.import_module(_SUBMODULES[name])
    else:
        raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)
