"""What an import did (or, in a dry run, would do), and the notes and messages it gives rows."""

from __future__ import annotations

from dataclasses import dataclass, field

from outreach.core.i18n import _
from outreach.geography.places import Place
from outreach.imports.reading import ParsedRow, RowError
from outreach.imports.reading.headers import FIELD_LABELS

NOTES_KEPT = 1000


@dataclass
class ImportReport:
    """What a file did (or, in a dry run, would do) to the database."""

    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    new_households: int = 0
    new_villages: int = 0
    payments: int = 0
    converted_addresses: int = 0
    errors: list[RowError] = field(default_factory=list)
    communes: set[int] = field(default_factory=set)
    # Rows placed with the old district of the title block / of their address column.
    title_hinted: int = 0
    address_hinted: int = 0
    # The villages it creates (would create, in a dry run): (commune, village), the first
    # NEW_VILLAGES_SHOWN; and notes that did not stop a row (a social group the app does not know).
    new_village_names: list[tuple[str, str]] = field(default_factory=list)
    notes: list[RowError] = field(default_factory=list)

    @property
    def rejected_rows(self) -> set[int]:
        """Spreadsheet row numbers with at least one error."""
        return {e.row_number for e in self.errors}


def group_note(parsed: ParsedRow) -> RowError:
    """The note of a row whose social group the app does not know (the row is still imported)."""
    return RowError(
        parsed.row_number,
        FIELD_LABELS["support_group"],
        _(
            "Không rõ nhóm đối tượng “%(text)s”: để trống nhóm hỗ trợ (người này vẫn được nhập)",
            text=parsed.values["support_group_note"],
        ),
    )


def unconfirmed_village(place: Place) -> str:
    """Why a new person in a village the admin has not confirmed is refused."""
    # Named by its own cell only (no message names another column's value).
    return _(
        "Thôn, tổ dân phố “%(village)s” chưa có ở xã, phường của dòng này: hãy xác nhận tạo thôn, "
        "tổ dân phố mới ở trang kiểm tra rồi nhập lại.",
        village=place.village_name,
    )
