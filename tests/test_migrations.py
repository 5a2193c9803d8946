"""The migrations: the models need no new one, and the squashed migrations a new database gets make what the
originals make (a database that applied some of the originals goes on with them)."""

import pytest
from django.core.management import call_command
from django.db.migrations.autodetector import MigrationAutodetector
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.questioner import NonInteractiveMigrationQuestioner

SQUASHED = {
    "merchants": "0001_squashed_0007_apikey_kind_allowed_origins",
    "notifications": "0001_squashed_0006_opt_outs_one_spelling",
    "pickups": "0001_squashed_0011_bulk_actions",
}


@pytest.mark.django_db  # it checks the applied history too
def test_the_models_need_no_new_migration():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits non-zero if one is missing


def test_a_new_database_gets_the_squash_not_the_originals():
    loader = MigrationLoader(None)  # as for a database with nothing applied
    originals = MigrationLoader(None, replace_migrations=False)

    plan = {key for leaf in loader.graph.leaf_nodes() for key in loader.graph.forwards_plan(leaf)}

    for app, squash in SQUASHED.items():
        assert (app, squash) in plan
        assert not plan & set(originals.get_migration(app, squash).replaces)


@pytest.mark.parametrize("app", SQUASHED)
def test_the_squash_makes_what_the_originals_make(app):
    originals = MigrationLoader(None, replace_migrations=False)
    last_original = originals.get_migration(app, SQUASHED[app]).replaces[-1]

    before = originals.project_state(last_original)
    after = MigrationLoader(None).project_state((app, SQUASHED[app]))
    changes = MigrationAutodetector(before, after, NonInteractiveMigrationQuestioner()).changes(graph=originals.graph)

    assert app not in changes, changes.get(app)
