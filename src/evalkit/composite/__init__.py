"""Composite evaluation (``evalkit.composite``): the public entry points.

Pure functions on DataFrames/arrays (rows = units, columns = indicators); no dependency on the
``Dataset``. Every convention that changes a number is a named keyword argument; a wrong choice is
an ``evalkit.errors.ChoiceError`` (a ``ValueError``) naming the allowed values; unusable data is an
``evalkit.errors.ModelInputError``.

Where things live (split along seams, all re-exported here):

- ``composite.methods``: ``normalise``, ``aggregate``, ``topsis``, ``obstacle_degree``, the figures;
- ``composite.weights``: ``entropy_weights``, ``critic_weights``, ``pca_weights``, ``ahp``;
- ``composite.treatment``: ``impute``, ``treat_outliers`` (COINr data treatment);
- ``composite.systems``: ``coupling_coordination`` (standard and Wang et al. 2021),
  ``grey_relational`` (factor mode), ``grey_relational_evaluation`` (evaluation mode), ``dea``,
  ``scale_efficiency``;
- ``composite.pipeline``: ``Pipeline`` — the COINr / OECD-JRC pipeline (denomination, imputation,
  outlier treatment, normalisation, weighting, aggregation over indicator → group → index);
- ``composite.uncertainty``: ``uncertainty`` — Monte Carlo over method choices with rank intervals
  and Saltelli/Jansen sensitivity indices, locally or on a Dask cluster;
- ``composite.reliability``: ``cronbach_alpha``, ``item_rest_correlations``.

Result objects (``AHPResult``, ``PipelineResult``, ``UncertaintyResult``, ``AlphaResult``) follow
the one results protocol of :mod:`evalkit.models.results`: ``tidy()`` (leading columns term,
estimate, se, ci_low, ci_high, p; NaN where undefined), ``summary(lang)``, ``plot(lang)``,
``ci(level)``, ``warning_texts(lang)``.
"""

from __future__ import annotations

from evalkit.composite.methods import (
    AGGREGATIONS,
    NORMALISATIONS,
    aggregate,
    bar_plot,
    normalise,
    obstacle_degree,
    radar_plot,
    topsis,
)
from evalkit.composite.weights import RI_TABLES, AHPResult, ahp, critic_weights, entropy_weights, pca_weights
from evalkit.composite.systems import (
    CCD_BANDS,
    ccd_band,
    coupling_coordination,
    dea,
    grey_relational,
    grey_relational_evaluation,
    plot_coupling_coordination,
    scale_efficiency,
)
from evalkit.composite.pipeline import Pipeline, PipelineResult, impute, treat_outliers
from evalkit.composite.uncertainty import UncertaintyResult, uncertainty
from evalkit.composite.reliability import AlphaResult, cronbach_alpha, item_rest_correlations

__all__ = [
    "normalise",
    "entropy_weights",
    "critic_weights",
    "pca_weights",
    "ahp",
    "AHPResult",
    "RI_TABLES",
    "aggregate",
    "topsis",
    "obstacle_degree",
    "coupling_coordination",
    "ccd_band",
    "CCD_BANDS",
    "plot_coupling_coordination",
    "grey_relational",
    "grey_relational_evaluation",
    "dea",
    "scale_efficiency",
    "Pipeline",
    "PipelineResult",
    "treat_outliers",
    "impute",
    "uncertainty",
    "UncertaintyResult",
    "radar_plot",
    "bar_plot",
    "NORMALISATIONS",
    "AGGREGATIONS",
    "cronbach_alpha",
    "item_rest_correlations",
    "AlphaResult",
]
