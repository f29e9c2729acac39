"""The desk's rate budget on its own: slots, pacing, pauses and the registry, on a fake clock.

The clock only moves when a worker sleeps, so no test sleeps for real; the threads are real.
"""

import threading

import pytest
import requests

from support_assets.source.budget import (
    BudgetHeaders,
    RateBudget,
    Slot,
    budget_for,
    desk_key,
)


class FakeClock:
    """Monotonic time that passes only when a worker sleeps; every sleep is logged."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


class Recorder:
    """A sleep that records what it was asked and lets no time pass (many workers at once)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


def answer(status: int = 200, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update({name.replace("_", "-"): value for name, value in headers.items()})
    return response


def in_threads(count: int, work) -> None:
    barrier = threading.Barrier(count)

    def run() -> None:
        barrier.wait()  # all at once, as dlt's workers ask
        work()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_a_cap_gives_workers_asking_at_once_one_slot_each_evenly_spaced() -> None:
    clock, sleeps = FakeClock(), Recorder()
    budget = RateBudget(max_per_minute=600, clock=clock)  # one request every 0.1 s

    in_threads(8, lambda: budget.acquire(sleeps))

    # A smooth bucket: the first goes at once, the others 0.1 s apart; no burst, no stall.
    waits = sorted(round(w, 6) for w in sleeps.waits)
    assert waits == [round(0.1 * n, 6) for n in range(1, 8)]


def test_no_cap_and_no_advertised_budget_never_waits() -> None:
    clock, sleeps = FakeClock(), Recorder()
    budget = RateBudget(clock=clock)
    in_threads(8, lambda: budget.acquire(sleeps))
    budget.observe(answer())
    assert sleeps.waits == [] and budget.interval == 0.0


def test_an_advertised_budget_is_spread_until_its_reset() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    budget.acquire(clock.sleep)
    budget.observe(answer(X_RateLimit_Remaining="20", X_RateLimit_Reset="10"))

    assert budget.interval == pytest.approx(0.5)
    slots = [budget.acquire(clock.sleep) for _ in range(3)]
    # The first right away, then one every 0.5 s: 20 requests fit the 10 s left.
    assert [slot.paced_s for slot in slots] == pytest.approx([0.0, 0.5, 0.5])
    assert all(slot.held_s == 0 for slot in slots)


def test_requests_in_flight_count_as_spent_when_an_answer_says_what_is_left() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    for _ in range(5):
        budget.acquire(clock.sleep)
    # One of five answers: the four others may not be counted in its 8 remaining yet.
    budget.observe(answer(X_RateLimit_Remaining="8", X_RateLimit_Reset="4"))
    assert budget.interval == pytest.approx(4 / (8 - 4))


def test_a_spent_budget_waits_for_its_reset_given_as_seconds_or_a_unix_time() -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    budget.acquire(clock.sleep)
    budget.observe(answer(429, X_RateLimit_Remaining="0", X_RateLimit_Reset="7"))
    assert budget.acquire(clock.sleep) == Slot(paced_s=pytest.approx(7.0))


def test_a_spent_budget_without_a_reset_goes_at_the_plans_rate() -> None:
    clock = FakeClock()
    headers = BudgetHeaders("X-RateLimit-Remaining", None, "X-RateLimit-Total")  # Freshdesk
    budget = RateBudget(headers=headers, clock=clock)
    budget.acquire(clock.sleep)
    budget.observe(answer(X_RateLimit_Remaining="150", X_RateLimit_Total="200"))
    assert budget.interval == 0.0  # budget left and no reset known: not slowed
    budget.acquire(clock.sleep)
    budget.observe(answer(X_RateLimit_Remaining="0", X_RateLimit_Total="200"))
    assert budget.interval == pytest.approx(60 / 200)


@pytest.mark.parametrize(
    "headers",
    [{"X_RateLimit_Remaining": "soon"}, {"X_RateLimit_Remaining": "-3"}, {}],
    ids=["not-a-number", "negative", "absent"],
)
def test_headers_that_say_nothing_usable_leave_no_pacing(headers: dict[str, str]) -> None:
    clock = FakeClock()
    budget = RateBudget(clock=clock)
    budget.acquire(clock.sleep)
    budget.observe(answer(X_RateLimit_Remaining="1", X_RateLimit_Reset="30"))
    assert budget.interval == 30
    budget.acquire(clock.sleep)
    budget.observe(answer(**headers))
    assert budget.interval == 0.0


def test_a_429_pause_holds_every_other_worker_but_not_the_one_that_slept_it() -> None:
    clock, sleeps = FakeClock(), Recorder()
    budget = RateBudget(clock=clock)
    budget.pause(5.0)

    slots: list[Slot] = []
    in_threads(3, lambda: slots.append(budget.acquire(sleeps)))

    assert [slot.held_s for slot in slots] == [5.0] * 3
    assert all(slot.paced_s == 0 for slot in slots)

    # The worker that got the 429 has slept its retry wait (its own sleep, a fake one here).
    budget = RateBudget(clock=clock)
    until = budget.pause(5.0)
    assert budget.acquire(sleeps, covered=until) == Slot()
    # A longer pause that another worker's 429 set since still holds it.
    budget.pause(8.0)
    assert budget.acquire(sleeps, covered=until) == Slot(held_s=pytest.approx(8.0))


def test_a_pause_that_comes_while_a_worker_waits_its_turn_holds_it_too() -> None:
    clock = FakeClock()
    budget = RateBudget(max_per_minute=60, clock=clock)  # one a second
    budget.acquire(clock.sleep)

    def sleep_then_a_429_arrives(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.sleeps) == 1:
            budget.pause(3.0)  # another worker's 429, during this one's wait

    slot = budget.acquire(sleep_then_a_429_arrives)

    assert slot == Slot(paced_s=pytest.approx(1.0), held_s=pytest.approx(3.0))
    assert clock.sleeps == pytest.approx([1.0, 3.0])


def test_a_worker_waiting_for_its_slot_does_not_block_the_others() -> None:
    clock = FakeClock()
    budget = RateBudget(max_per_minute=60, clock=clock)
    budget.acquire(clock.sleep)
    waiting, release = threading.Event(), threading.Event()

    def stuck(seconds: float) -> None:
        waiting.set()
        assert release.wait(timeout=30)

    worker = threading.Thread(target=budget.acquire, args=(stuck,))
    worker.start()
    assert waiting.wait(timeout=30)
    # The stuck worker holds no lock: the next one takes the slot after it and goes.
    others = Recorder()
    assert budget.acquire(others) == Slot(paced_s=pytest.approx(2.0))
    release.set()
    worker.join()


def test_one_budget_per_desk_shared_by_runs_in_the_process() -> None:
    first = budget_for("https://acme.zendesk.com/api", max_per_minute=100)
    again = budget_for("https://ACME.zendesk.com:443/other", max_per_minute=50)
    assert again is first and first.max_per_minute == 50  # the newest run's setting
    assert budget_for("https://acme.zendesk.com:8443") is not first
    assert budget_for("http://acme.zendesk.com") is not first
    assert desk_key("http://127.0.0.1:8765/v1") == "http://127.0.0.1:8765"


@pytest.mark.parametrize(
    ("headers", "everyone"),
    [
        ({"X_RateLimit_Remaining": "0"}, True),  # the desk says its budget is spent
        ({"X_RateLimit_Remaining": "37"}, False),  # budget left: this request's own limit
        ({}, True),  # says nothing: taken as the budget's, whatever the desk said before
    ],
)
def test_a_429_holds_only_its_own_request_when_it_says_budget_is_left(
    headers: dict[str, str], everyone: bool
) -> None:
    budget = RateBudget(headers=BudgetHeaders())
    budget.acquire(Recorder())
    budget.observe(answer(X_RateLimit_Remaining="40", X_RateLimit_Reset="20"))
    paced = budget.interval

    assert budget.spent_by(answer(429, Retry_After="1", **headers)) is everyone
    # A 429 that says nothing of the budget leaves the pace the desk advertised.
    budget.acquire(Recorder())
    budget.observe(answer(429, Retry_After="1"))
    assert budget.interval == paced


def test_new_header_names_forget_what_the_old_ones_said() -> None:
    budget = budget_for("http://desk.example:8080", headers=BudgetHeaders())
    budget.acquire(Recorder())
    budget.observe(answer(X_RateLimit_Remaining="40", X_RateLimit_Reset="20"))
    assert budget.interval > 0

    renamed = BudgetHeaders(remaining="X-Rate-Limit-Remaining", reset=None, limit=None)
    assert budget_for("http://desk.example:8080", headers=renamed) is budget
    assert budget.interval == 0
    assert budget.spent_by(answer(429, X_RateLimit_Remaining="40"))  # not its name any more
