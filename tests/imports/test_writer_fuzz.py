"""Generated and corrupted lists never crash an import or leave part of a file written."""

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import select

from outreach.imports.reading import ImportFileError, read_table, stream_rows
from outreach.imports.writer import import_rows
from outreach.models import GeoUnit, Household, Person
from outreach.models.codes import UnitKind
from tests.imports.test_writer import HEADER, ROWS

cell = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", "=1+1", "@SUM(A1)", "31/02/2026", "13/2026", "0123456789", "Xã", "—"]),
    st.integers(-(10**12), 10**12).map(str),
)
row = st.lists(cell, min_size=0, max_size=16)


def _csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER.split(","))
    for r in rows:
        writer.writerow(r)
    return out.getvalue().encode("utf-8")


def _counts(session):
    return tuple(
        session.exec(select(func.count()).select_from(m)).one() for m in (Person, Household)
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(
        st.one_of(row, st.sampled_from([r.split(",") for r in ROWS])), min_size=1, max_size=12
    )
)
def test_random_rows_are_classified_and_written_exactly(session, rows):
    province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
    try:
        sheet, parsed = stream_rows(read_table(_csv_bytes(rows), "fuzz.csv"), "participants")
    except ImportFileError:
        return
    before = _counts(session)
    try:
        report = import_rows(
            session, rows=parsed, kind="participants", province_id=province.id, write=True
        )
        session.commit()
    finally:
        session.rollback()
    persons, households = _counts(session)
    assert persons == before[0] + report.inserted
    assert households - before[1] == report.new_households
    assert report.read == report.inserted + report.updated + report.unchanged + report.rejected


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=2000), name=st.sampled_from(["a.xlsx", "a.xls", "a.csv", "a.ods"]))
def test_corrupted_files_give_only_a_file_error(data, name):
    try:
        table = read_table(data, name)
        stream_rows(table, "participants")
    except ImportFileError as error:
        assert str(error)
