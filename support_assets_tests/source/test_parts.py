"""How a window is planned into time parts: the arithmetic, without a desk."""

from types import SimpleNamespace
from typing import Any

import pytest

from support_assets.source.budget import RateBudget
from support_assets.source.parts import MAX_PARTS, PartReader, budget_paces, readers_for


def reader(workers: int, window_pages: int = 50, paced: bool = False) -> PartReader:
    template: Any = SimpleNamespace(limit=100, window_pages=window_pages)
    return PartReader(
        name="ticket_comments",
        client=None,  # type: ignore[arg-type]  # planning sends nothing
        path="/v1/ticket_comments",
        params={},
        data_selector="comments",
        paginator=template,
        check=None,  # type: ignore[arg-type]
        workers=workers,
        query=lambda lower, upper: {},
        paced=lambda: paced,
    )


def test_two_readers_per_slot_but_one_at_concurrency_one() -> None:
    assert [readers_for(n) for n in (1, 2, 4, 8)] == [1, 4, 8, 16]


def test_the_window_is_split_one_part_per_reader() -> None:
    planner = reader(workers=16, window_pages=500)
    # 5,000 pages: a share is 313 pages, so 16 parts.
    assert planner.parts_for(500_000, parent_total=None) == 16
    # A part within its share is read whole, as long as it is not the tail.
    assert planner.parts_for(25_000, parent_total=500_000) == 1


def test_the_tail_read_last_is_spread_over_every_reader_until_it_is_small() -> None:
    planner = reader(workers=16, window_pages=500)
    planner.parts_for(500_000, parent_total=None)
    # The tail starts when every other part is read: 250 pages on one reader would be
    # the run's last half minute at 100 ms a page (longer with retries), the others idle.
    assert planner.parts_for(25_000, parent_total=500_000, alone=True) == 16
    # Its own tail, two pages a reader or fewer, is read whole.
    assert planner.parts_for(3_200, parent_total=25_000, alone=True) == 1
    # Records crowded into the tail's last second are not split in time, tail or not.
    assert planner.parts_for(24_000, parent_total=25_000, alone=True) == 1


@pytest.mark.parametrize("workers", [1, 4])
def test_no_more_parts_than_the_cap(workers: int) -> None:
    planner = reader(workers=workers, window_pages=10)
    assert planner.parts_for(10_000_000, parent_total=None, alone=True) <= MAX_PARTS


def test_the_tail_is_not_spread_while_the_desks_budget_sets_the_pace() -> None:
    # Readers cannot outrun the budget, and each part costs a request of it.
    planner = reader(workers=16, window_pages=500, paced=True)
    planner.parts_for(500_000, parent_total=None)
    assert planner.parts_for(25_000, parent_total=500_000, alone=True) == 1


def test_a_budget_paces_when_it_spaces_requests_as_a_vendors_plan_does() -> None:
    assert not budget_paces(RateBudget())  # nothing advertised, no cap
    assert budget_paces(RateBudget(max_per_minute=700))  # Zendesk's plan: 86 ms apart
    # An advertised budget far above what a run sends: microseconds apart, no pace.
    assert not budget_paces(RateBudget(max_per_minute=10_000_000))
