"""Records inside records: Zendesk's comments are child events of its ticket events."""

from support_assets.source.nested import NestedRecords

EVENTS = [
    {
        "id": 10,
        "ticket_id": 7,
        "timestamp": 1_700_000_000,
        "child_events": [
            {"id": 1, "event_type": "Comment", "body": "hi"},
            {"id": 2, "event_type": "Change", "field_name": "status"},
        ],
    },
    {"id": 11, "ticket_id": 8, "timestamp": 1_700_000_005, "child_events": []},
]


def test_the_matching_children_become_the_rows_with_what_they_inherit() -> None:
    page = [dict(e) for e in EVENTS]
    step = NestedRecords("child_events", ("event_type", "Comment"), ("ticket_id", "timestamp"))

    rows = step(page)

    assert rows is page  # in place: the page keeps its paginator for the Arrow batching
    assert rows == [
        {
            "id": 1,
            "event_type": "Comment",
            "body": "hi",
            "ticket_id": 7,
            "timestamp": 1_700_000_000,
        }
    ]


def test_without_a_filter_every_child_is_a_row_and_a_childs_own_field_wins() -> None:
    page = [{"ticket_id": 7, "children": [{"id": 1, "ticket_id": 99}, {"id": 2}]}]

    rows = NestedRecords("children", None, ("ticket_id",))(page)

    assert rows == [{"id": 1, "ticket_id": 99}, {"id": 2, "ticket_id": 7}]


def test_a_dotted_path_and_renamed_parent_fields_take_help_scouts_embedded_threads() -> None:
    conversation = {
        "id": 42,
        "userUpdatedAt": "2026-01-01T00:00:05Z",
        "_embedded": {"threads": [{"id": 1, "body": "a"}, {"id": 2, "body": "b"}]},
    }
    inherited = {"ticket_id": "id", "userUpdatedAt": "userUpdatedAt"}

    rows = NestedRecords("_embedded.threads", None, inherited)([conversation, {"id": 43}])

    assert rows == [
        {"id": 1, "body": "a", "ticket_id": 42, "userUpdatedAt": "2026-01-01T00:00:05Z"},
        {"id": 2, "body": "b", "ticket_id": 42, "userUpdatedAt": "2026-01-01T00:00:05Z"},
    ]
