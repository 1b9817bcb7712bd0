"""Regression models of the consortium: how integration inputs relate to outcomes (``ols``,
``glm``, ``twfe``), what membership changed (``staggered_did``, ``event_study``) and an
exploratory predictive view (``drivers``). Every function returns a Results object with
``tidy()``, ``summary()`` and ``plot()``."""
from evalkit.models.did import DidResults, event_study, staggered_did
from evalkit.models.drivers import DriversResults, drivers
from evalkit.models.linear import glm, ols, twfe
from evalkit.models.results import Results, Summary

__all__ = ["ols", "glm", "twfe", "staggered_did", "event_study", "drivers",
           "Results", "DidResults", "DriversResults", "Summary"]
