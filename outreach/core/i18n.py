"""Translatable messages for code that imports no Flask: services mark them, the web layer translates.

Messages are written in Vietnamese (the msgids, like every template's) and extracted by `pybabel`
with the keywords `_` and `_l` (`babel.cfg`). `_` translates at once into the current request's
language, `_l` when the text is used (for module-level constants). Until the web layer installs
its translator — in the CLI, the worker and plain unit tests — the Vietnamese text is the answer.
"""

from __future__ import annotations

from collections.abc import Callable

_translate: Callable[[str], str] = str


def install(translate: Callable[[str], str]) -> None:
    """Use `translate` (msgid -> text in the current language) for every message from now on."""
    global _translate
    _translate = translate


def _(message: str, **params: object) -> str:
    """`message` in the current language, with its named `%(placeholders)s` filled in."""
    text = _translate(message)
    return text % params if params else text


class LazyText(str):
    """A message translated each time it is shown (a constant defined at import time)."""

    __slots__ = ()

    def __str__(self) -> str:
        return _translate(str.__str__(self))

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def __mod__(self, params):  # noqa: D105 - "%" fills the translated text
        return str(self) % params


def _l(message: str) -> LazyText:
    """`message`, translated when it is used rather than now."""
    return LazyText(message)
