"""Regression models of the consortium: how integration inputs relate to outcomes (``ols``,
``glm``, ``twfe``), what membership changed (``staggered_did``, ``event_study``) and an
exploratory predictive view (``drivers``). Every function returns a result of one protocol
(``BaseResults``): ``tidy()``, ``summary(lang)``, ``plot(lang)``, ``ci(level)``, ``warnings`` as
i18n messages and ``warning_texts(lang)``."""
from evalkit.models.did import DidResults, event_study, staggered_did
from evalkit.models.drivers import DriversResults, drivers
from evalkit.models.linear import glm, ols, twfe
from evalkit.models.results import BaseResults, Results, ResultsProtocol, Summary

__all__ = ["ols", "glm", "twfe", "staggered_did", "event_study", "drivers",
           "Results", "DidResults", "DriversResults", "Summary", "BaseResults", "ResultsProtocol"]
from evalkit.models.multiple import MultipleTestingResults, adjust_pvalues
from evalkit.models.sensitivity import (
    PretrendPowerResults,
    SensitivityResults,
    event_vcov,
    honest_did,
    pretrend_power,
)

__all__ += ["MultipleTestingResults", "PretrendPowerResults", "SensitivityResults", "adjust_pvalues",
            "event_vcov", "honest_did", "pretrend_power"]
from evalkit.models.randomization import (
    LeaveOneOutResults,
    RandomizationResults,
    leave_one_out,
    multinomial_count,
    randomization_inference,
)
from evalkit.models.synthdid import SynthDidResults, synthetic_did

__all__ += ["LeaveOneOutResults", "RandomizationResults", "SynthDidResults", "leave_one_out",
            "multinomial_count", "randomization_inference", "synthetic_did"]
