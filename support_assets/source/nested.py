"""Records held inside the records a page lists, taken out as the rows of their table.

Zendesk's ticket event export lists events, and the comments are child events of each
(`child_events`, `event_type: "Comment"`) [ZD-OAS; AB-ZD `TicketComments`]: the comment
rows are those children, each with the event's ticket id and its time, which the
incremental cursor and the newest-version-wins ordering read.
"""

from typing import Any

from dlt.extract.items_transform import ItemTransform


class NestedRecords(ItemTransform[Any, Any]):
    """A pipe step: each page of parents becomes the page of their matching children."""

    def __init__(self, field: str, match: tuple[str, str] | None, copied: tuple[str, ...]) -> None:
        super().__init__(lambda item: item)
        self.field = field
        self.match = match
        self.copied = copied

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Replace a page's parents by their children, in place (the page keeps its paginator)."""
        if not isinstance(item, list):
            return item
        children = []
        for parent in item:
            for child in parent.get(self.field) or () if isinstance(parent, dict) else ():
                if not isinstance(child, dict) or not self._matches(child):
                    continue
                inherited = {k: parent.get(k) for k in self.copied if k not in child}
                children.append({**child, **inherited})
        item[:] = children
        return item

    def _matches(self, child: dict[str, Any]) -> bool:
        if self.match is None:
            return True
        field, value = self.match
        return str(child.get(field)) == value
