"""Errors and warnings evalkit raises. Anything a user can cause is an ``EvalkitError``: the CLI
prints it (every problem, and what to do next) and exits 2, with no traceback."""

from __future__ import annotations

from dataclasses import dataclass
from collections.abc import Iterable
from typing import Literal


class EvalkitWarning(UserWarning):
    """A condition a user should know about that does not stop the run."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input: where it is (file, row as the user sees it, column), the
    offending value and the rule it breaks."""

    file: str
    row: int | None
    column: str | None
    value: object
    rule: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        text = ", ".join(where)
        if self.value is not None and self.value != "":
            text += f", value {self.value!r}"
        return f"{text}: {self.rule}"

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "rule": self.rule,
            "severity": self.severity,
        }


class EvalkitError(Exception):
    """Bad input or a bad request; the CLI exits with ``exit_code`` and prints ``str(self)``."""

    exit_code = 2
    hint = ""

    @property
    def message(self) -> str:
        """The message without the hint (for wrapping this error's text into another error)."""
        return super().__str__()

    def __str__(self) -> str:
        text = super().__str__()
        # A message that already carries the hint (text of a wrapped error of the same kind) is
        # not given it twice.
        if not self.hint or text.rstrip().endswith(self.hint):
            return text
        return f"{text}\n{self.hint}"


class DataError(EvalkitError, ValueError):
    """The data folder has problems; ``problems`` lists every one of them."""

    hint = (
        "What to do: correct the cells listed above in the named files (row numbers are as "
        "shown in a spreadsheet program), then run `evalkit validate PATH` again."
    )

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = [p for p in problems if p.severity == "error"]
        self.warnings = [p for p in problems if p.severity == "warning"]
        self.source = source
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {source or 'the data'}:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))


class ParamsError(EvalkitError, ValueError):
    """A params file (phase definition) is invalid."""

    hint = "What to do: fix the params file (see params/README.md for every key) and run again."


class RegistryError(EvalkitError, ValueError):
    """The indicator registry is invalid."""

    hint = "What to do: fix the indicator named above in the registry YAML and run again."


class ModelInputError(EvalkitError, ValueError):
    """Data handed to an estimator cannot be estimated as asked."""


class ChoiceError(EvalkitError, ValueError):
    """A string option is not one of its allowed values."""


def check_choice(name: str, value: object, allowed: Iterable[object]) -> None:
    """The one validator of string options across evalkit: raise :class:`ChoiceError` naming the
    allowed values when ``value`` is not one of them.

    Parameters
    ----------
    name : str
        The option's name as the user wrote it (``"vcov"``, ``"by"``).
    value : object
        The value given.
    allowed : iterable
        The allowed values.
    """
    allowed = tuple(allowed)
    try:
        ok = value in allowed
    except TypeError:  # an unhashable or uncomparable value is not a choice
        ok = False
    if not ok:
        raise ChoiceError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
