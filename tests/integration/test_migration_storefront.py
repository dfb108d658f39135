"""Upgrading a live shop: the storefront flag must not empty its style switcher."""
from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.django_db(transaction=True)
def test_existing_active_styles_stay_on_the_storefront_after_the_upgrade():
    executor = MigrationExecutor(connection)
    before, after = [("imagegen", "0006_productmask")], [("imagegen", "0008_style_storefront_preview")]
    try:
        executor.migrate(before)
        old_style = executor.loader.project_state(before).apps.get_model("imagegen", "Style")
        old_style.objects.create(slug="live", name="Live look", processor="sketch", is_active=True)
        old_style.objects.create(slug="off", name="Switched off", processor="sketch", is_active=False)

        executor = MigrationExecutor(connection)
        executor.migrate(after)
        style = executor.loader.project_state(after).apps.get_model("imagegen", "Style")
        shown = dict(style.objects.values_list("slug", "show_on_storefront"))
        assert shown == {"live": True, "off": False}
        assert style._meta.get_field("show_on_storefront").default is False  # new styles start hidden
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
