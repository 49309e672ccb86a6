"""The one domain error: a rule refused the input, with a message for the person who gave it.

Every feature's error (VisitError, ImportError, …) is a `DomainError`. Its text is already in
the user's language (`core.i18n._`); views show it as it is, the JSON API sends it with `code`.
A service that raises one has written nothing the caller must keep: the unit of work that called
it rolls back (docs/architecture.md, "Transactions").
"""

from __future__ import annotations


class DomainError(ValueError):
    """Input the domain refuses; `str(error)` is the message to show, `code` a stable key."""

    code = "invalid"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(str(message))
        if code is not None:
            self.code = code
