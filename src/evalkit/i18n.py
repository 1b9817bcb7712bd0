"""One message catalogue for every string a person reads: report labels, estimator warnings,
validation and CLI messages. Each room registers its own messages (a code → Chinese, English
pair) at import; code that produces a message stores the code and its parameters, and only
rendering picks a language. Estimators therefore know no language.

>>> register({"demo.hello": ("你好，{name}", "hello, {name}")})
>>> text("demo.hello", "en", name="Zhuzhou")
'hello, Zhuzhou'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["zh", "en", "bilingual"]
LANGUAGES: tuple[str, ...] = ("zh", "en", "bilingual")

_CATALOGUE: dict[str, tuple[str, str]] = {}


def register(messages: Mapping[str, tuple[str, str]]) -> None:
    """Add messages to the catalogue. A code registered twice with different texts is an error."""
    for code, pair in messages.items():
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(s, str) and s for s in pair)):
            raise ValueError(f"message {code!r} needs a (Chinese, English) pair of non-empty strings")
        old = _CATALOGUE.get(code)
        if old is not None and old != pair:
            raise ValueError(f"message {code!r} is registered twice with different texts")
        _CATALOGUE[code] = pair


def label(zh: str, en: str, lang: Lang = "zh") -> str:
    """Pick a label in the report's language (bilingual: "中文 / English")."""
    if lang == "en":
        return en
    if lang == "bilingual":
        return f"{zh} / {en}" if en and en != zh else zh
    return zh


def text(code: str, lang: Lang = "zh", **params: Any) -> str:
    """The message ``code`` in ``lang`` with ``params`` filled in (``str.format`` fields)."""
    try:
        zh, en = _CATALOGUE[code]
    except KeyError:
        raise KeyError(f"no message {code!r} in the catalogue") from None
    return label(zh.format(**params), en.format(**params), lang)


def codes() -> list[str]:
    """Every registered message code (for tests that check the catalogue)."""
    return sorted(_CATALOGUE)


@dataclass(frozen=True)
class Message:
    """A message kept as a code and its parameters, rendered in a language only when shown."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang = "zh") -> str:
        return text(self.code, lang, **self.params)

    def __str__(self) -> str:
        return self.render("en")
