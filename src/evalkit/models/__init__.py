"""Regression models of the consortium: how integration inputs relate to outcomes (``ols``,
``glm``, ``twfe``), what membership changed (``staggered_did``, ``event_study``,
``synthetic_did``), how credible that is with few treated units (``randomization_inference``,
``leave_one_out``, ``honest_did``, ``pretrend_power``, ``adjust_pvalues``) and an exploratory
predictive view (``drivers``). Every function returns a result of one protocol
(``BaseResults``): ``tidy()``, ``summary(lang)``, ``plot(lang)``, ``ci(level)``, ``warnings`` as
i18n messages and ``warning_texts(lang)``."""

from evalkit.models.did import DidResults, event_study, staggered_did
from evalkit.models.drivers import DriversResults, drivers
from evalkit.models.linear import glm, ols, twfe
from evalkit.models.multiple import MultipleTestingResults, adjust_pvalues
from evalkit.models.randomization import (
    LeaveOneOutResults,
    RandomizationResults,
    leave_one_out,
    multinomial_count,
    randomization_inference,
)
from evalkit.models.results import BaseResults, Results, ResultsProtocol, Summary
from evalkit.models.sensitivity import (
    PretrendPowerResults,
    SensitivityResults,
    event_vcov,
    honest_did,
    pretrend_power,
)
from evalkit.models.synthdid import SynthDidResults, synthetic_did

__all__ = [
    "BaseResults",
    "DidResults",
    "DriversResults",
    "LeaveOneOutResults",
    "MultipleTestingResults",
    "PretrendPowerResults",
    "RandomizationResults",
    "Results",
    "ResultsProtocol",
    "SensitivityResults",
    "Summary",
    "SynthDidResults",
    "adjust_pvalues",
    "drivers",
    "event_study",
    "event_vcov",
    "glm",
    "honest_did",
    "leave_one_out",
    "multinomial_count",
    "ols",
    "pretrend_power",
    "randomization_inference",
    "staggered_did",
    "synthetic_did",
    "twfe",
]
