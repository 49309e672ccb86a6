"""One migration history from empty; after `upgrade head` the models and the database agree."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import outreach.models  # noqa: F401
from outreach.db import make_engine
from outreach.migrate import upgrade


def test_upgrade_from_empty_matches_the_models(databases):
    url = databases.empty()
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, SQLModel.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert set(SQLModel.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_autogenerate_would_notice_a_model_change(databases):
    # Guard against a comparison that can never find anything.
    url = databases.empty()
    upgrade(url)
    engine = make_engine(url)
    table = SQLModel.metadata.tables["household"]
    from sqlalchemy import Column, Integer

    extra = Column("not_migrated", Integer)
    table.append_column(extra)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        table._columns.remove(extra)
        engine.dispose()
    assert any(d[0] == "add_column" and d[3].name == "not_migrated" for d in diff)


def test_the_tally_migration_backfills_what_a_rebuild_computes(db_url):
    # The demo database was tallied by rebuild_tallies; drop the tallies and let 0004, 0005 and
    # 0009 (latest outcomes) redo them.
    from alembic import command
    from sqlmodel import Session, select

    from outreach.migrate import alembic_config
    from outreach.models import CampaignReach, DailyTally, LatestOutcome

    def snapshot():
        engine = make_engine(db_url)
        with Session(engine) as s:
            tallies = sorted(
                (t.commune_id, t.day, t.metric, t.count) for t in s.exec(select(DailyTally))
            )
            reach = sorted(
                (r.campaign_id, r.household_id, r.commune_id, r.first_visit_at)
                for r in s.exec(select(CampaignReach))
            )
            latest = sorted(
                (o.person_id, o.outcome_id, o.outcome, o.follow_up_on, o.commune_id)
                for o in s.exec(select(LatestOutcome))
            )
        engine.dispose()
        return tallies, reach, latest

    rebuilt = snapshot()
    assert rebuilt[0] and rebuilt[1] and rebuilt[2]
    command.downgrade(alembic_config(db_url), "0003")  # drops the tallies (0005, then 0004)
    command.upgrade(alembic_config(db_url), "head")
    assert snapshot() == rebuilt
