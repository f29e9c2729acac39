"""What the pipeline benchmark's contenders all read: the sandbox's collections, at a scale.

The floor and bare dlt import this in their own processes, so it stays standard library.
"""

from dataclasses import dataclass

PAGE_SIZE = 100
DATASET = "support"
# Resource -> (path, data selector, warehouse table), as the contract and the assets name them.
COLLECTIONS = {
    "tickets": ("/v1/tickets", "tickets", "support_tickets"),
    "comments": ("/v1/ticket_comments", "comments", "ticket_comments"),
}


@dataclass(frozen=True)
class Scale:
    """Sandbox size, and the defaults that keep a whole session to a sensible length."""

    tickets: int
    comments: int
    repeat: int
    timeout: float  # seconds per contender before it counts as failed


# One repetition at the large scale: bare dlt alone takes minutes there (the issue measured
# 153 s), and three repetitions of all five contenders would take the better part of an hour.
SCALES = {
    "large": Scale(100_000, 500_000, repeat=1, timeout=3600),
    # 100,000 records: the low end of the memory target's "from 100k to 500k" comparison.
    "medium": Scale(16_667, 83_333, repeat=1, timeout=1800),
    "small": Scale(10_000, 50_000, repeat=3, timeout=900),
    "tiny": Scale(300, 900, repeat=3, timeout=300),
}
