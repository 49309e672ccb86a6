"""Every real layout of the corpus (tests/imports/corpus.py) through the admin's check and import.

Row by row: skipped with its reason, refused with its message, or imported into its commune;
the villages it would create and the district taken from its title, as the preview shows them.
Importing the same file again changes nothing.
"""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from outreach.core.queue import JobBoard, make_queue
from outreach.db import make_engine
from outreach.imports import batches
from outreach.models import GeoUnit, ImportBatch, Payment, Person
from outreach.models.codes import UnitKind
from tests.imports.corpus import LAYOUTS, Layout


@pytest.fixture
def engine(databases):
    engine = make_engine(databases.copy_of_template())
    yield engine
    engine.dispose()


def _upload(engine, layout: Layout) -> int:
    with Session(engine) as session:
        province = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.PROVINCE)).one()
        batch = batches.store_upload(
            session,
            data=layout.data,
            filename=layout.filename,
            kind=layout.kind,
            office="",
            user_id=None,
            username="test",
            province_id=province.id,
        )
        return batch.id


def _confirm_and_import(engine, board: JobBoard, batch_id: int) -> ImportBatch:
    """The admin skips the refused rows and confirms the new villages the preview lists."""
    with Session(engine, expire_on_commit=False) as session:
        batch = session.get(ImportBatch, batch_id)
        batch.skip_rejected = batch.create_villages = True
        session.add(batch)
        session.commit()
    batches.run_import(engine, board, batch_id)
    with Session(engine, expire_on_commit=False) as session:
        return session.get(ImportBatch, batch_id)


def _people(engine) -> list[tuple]:
    with Session(engine) as session:
        people = session.exec(select(Person).order_by(Person.id)).all()
        return [tuple(p.model_dump(exclude={"updated_at"}).values()) for p in people]


def _payments(engine) -> int:
    with Session(engine) as session:
        return len(session.exec(select(Payment.id)).all())


def _check_preview(layout: Layout, session: Session, batch: ImportBatch) -> None:
    preview = batches.saved_preview(session, batch)
    errors = batches.saved_errors(session, batch)
    skipped = dict(preview.skipped)
    expected = {row.outcome: {} for row in layout.rows}
    for row in layout.rows:
        expected[row.outcome][row.number] = row
    assert set(skipped) == set(expected.get("skipped", {})), (layout.name, preview.skipped)
    for number, row in expected.get("skipped", {}).items():
        assert row.detail in skipped[number], (layout.name, number, skipped[number])
    assert {e.row_number for e in errors} == set(expected.get("refused", {})), (
        layout.name,
        [(e.row_number, e.message) for e in errors],
    )
    for number, row in expected.get("refused", {}).items():
        messages = [e.message for e in errors if e.row_number == number]
        assert any(row.detail in m for m in messages), (layout.name, number, messages)
    assert set(preview.new_villages) == layout.new_villages, (layout.name, preview.new_villages)
    if layout.title_district:
        assert preview.title_district == layout.title_district, layout.name


def _check_people(engine, layout: Layout) -> None:
    with Session(engine) as session:
        for row in layout.rows:
            if row.outcome != "imported":
                continue
            found = select(Person).where(Person.full_name == row.who)
            if row.bhxh:
                found = found.where(Person.bhxh_number == row.bhxh)
            (person,) = session.exec(found).all()
            commune = session.get(GeoUnit, person.commune_id)
            assert commune.name == row.detail, (layout.name, row.who, commune.name)
        for name, facts in layout.facts.items():
            person = session.exec(select(Person).where(Person.full_name == name)).one()
            for column, value in facts.items():
                stored = getattr(person, column)
                assert (str(stored) if column == "paid_through" else stored) == value, (
                    layout.name,
                    name,
                    column,
                    stored,
                )


def test_every_real_layout_lands_row_by_row_and_again_changes_nothing(engine, tmp_path):
    for make in LAYOUTS:
        layout = make()
        board = JobBoard(make_queue(str(engine.url), fallback_dir=tmp_path))
        batch_id = _upload(engine, layout)
        outcome = batches.check_batch(engine, board, batch_id)
        assert outcome.report is not None, (layout.name, outcome.missing)  # no mapping by hand
        with Session(engine) as session:
            checked = session.get(ImportBatch, batch_id)
            assert checked.status == "previewed", (layout.name, checked.message)
            _check_preview(layout, session, checked)
        imported = sum(1 for row in layout.rows if row.outcome == "imported")
        done = _confirm_and_import(engine, board, batch_id)
        assert done.status == "done", (layout.name, done.message)
        # Each row meant to land did (new, updated, or already so after an earlier list).
        assert done.inserted + done.updated + done.unchanged == imported, layout.name
        _check_people(engine, layout)

        # The same file again: nothing new, nothing changed, nothing to confirm.
        people, payments = _people(engine), _payments(engine)
        again = _upload(engine, layout)
        batches.check_batch(engine, board, again)
        with Session(engine) as session:
            rechecked = session.get(ImportBatch, again)
            assert (rechecked.inserted, rechecked.updated) == (0, 0), layout.name
            assert batches.saved_preview(session, rechecked).new_village_count == 0
        assert _confirm_and_import(engine, board, again).status == "done"
        assert _people(engine) == people and _payments(engine) == payments, layout.name
