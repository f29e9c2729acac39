"""Long loads of the desks' presets: slices bounded on the records where no parameter can."""

import dataclasses

from support_assets.sandbox import SandboxServer
from support_assets.settings import Settings
from support_assets_tests.helpers import materialize
from support_assets_tests.test_vendors import (  # the emulators, one per preset
    IDLE_REQUESTS,
    clean,
    compare,
    desk,
    desk_server,
    requests_made,
)

__all__ = ["desk", "desk_server"]  # fixtures, imported for pytest

# Comments read per ticket ride with their tickets: 90 of the 250 tickets a slice.
TICKETS_PER_SLICE = 90


def test_a_sliced_load_of_each_preset_loses_nothing_and_an_idle_refresh_costs_the_same(
    desk: tuple[SandboxServer, Settings],
) -> None:
    server, settings = desk
    run = dataclasses.replace(settings, commit_records=TICKETS_PER_SLICE)

    result = materialize(run)

    assert result.success
    slices = {
        m.asset_key.path[-1]: int(str(m.metadata["slices"].value))
        for m in result.asset_materializations_for_node("support_api_assets")
    }
    assert slices["support_tickets"] > 1
    for resource in ("tickets", "comments"):
        assert compare(run, server, resource) == clean(run, server, resource)
    server.reset_stats()
    assert materialize(run).success
    assert requests_made(server) == IDLE_REQUESTS[run.vendor]
