"""Composite evaluation (``evalkit.composite``): the public entry points.

Pure functions on DataFrames/arrays (rows = units, columns = indicators); no dependency on the
``Dataset``. Every convention that changes a number is a named keyword argument; a wrong choice is
a ``ValueError`` naming the allowed values; unusable data is an ``evalkit.errors.ModelInputError``.

Where things live (split along seams, all re-exported here):

- ``composite_methods``: ``normalise``, ``entropy_weights``, ``critic_weights``, ``pca_weights``,
  ``ahp``, ``aggregate``, ``topsis``, ``obstacle_degree``;
- ``composite_systems``: ``coupling_coordination`` (standard and Wang et al. 2021),
  ``grey_relational`` (factor mode), ``grey_relational_evaluation`` (evaluation mode), ``dea``,
  ``scale_efficiency``;
- ``composite_pipeline``: ``Pipeline`` — the COINr / OECD-JRC pipeline (denomination, imputation,
  outlier treatment, normalisation, weighting, aggregation over indicator → group → index);
- ``composite_uncertainty``: ``uncertainty`` — Monte Carlo over method choices with rank intervals
  and Saltelli/Jansen sensitivity indices, locally or on a Dask cluster.
"""

from __future__ import annotations

from evalkit.composite.methods import (
    AGGREGATIONS,
    NORMALISATIONS,
    RI_TABLES,
    AHPResult,
    aggregate,
    ahp,
    bar_plot,
    critic_weights,
    entropy_weights,
    normalise,
    obstacle_degree,
    pca_weights,
    radar_plot,
    topsis,
)
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
from evalkit.composite.reliability import AlphaResult, cronbach_alpha, item_rest_correlations  # noqa: F401

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
]
