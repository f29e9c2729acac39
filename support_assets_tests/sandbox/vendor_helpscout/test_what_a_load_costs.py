"""The helpscout emulator: what a load costs."""

from support_assets_tests.sandbox.vendor_helpscout.desk import (
    LIST,
    TOKEN,
    HelpScout,
    split,
)


def test_a_full_load_and_an_idle_refresh_cost_exact_request_counts(desk: HelpScout) -> None:
    desk.sandbox.reset()
    loader = HelpScout(desk.sandbox)
    loader.login()
    merged, cursor = loader.load()
    tickets, comments = split(list(merged.values()))
    assert (len(tickets), len(comments)) == (244, 584)
    requests_made = desk.sandbox.stats()["requests"]
    assert requests_made == {f"POST {TOKEN}": {"200": 1}, f"GET {LIST}": {"200": 11}}
    desk.sandbox.reset_stats()
    idle = HelpScout(desk.sandbox)
    idle.login()
    changes, again = idle.load(cursor)
    assert again == cursor and set(changes) <= set(merged)
    requests_made = desk.sandbox.stats()["requests"]
    assert requests_made == {f"POST {TOKEN}": {"200": 1}, f"GET {LIST}": {"200": 1}}
    loader.close()
    idle.close()
