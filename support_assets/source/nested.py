"""Records held inside the records a page lists, taken out as the rows of their table.

Zendesk's ticket event export lists events, and the comments are child events of each
(`child_events`, `event_type: "Comment"`) [ZD-OAS; AB-ZD `TicketComments`]; Help Scout's
conversation list embeds each conversation's threads (`_embedded.threads` with
`embed=threads`) [HS-CL; AB-HS]. The comment rows are those children, each with its
parent's ticket id and its parent's cursor value, which the incremental cursor and the
newest-version-wins ordering read.
"""

from typing import Any

from dlt.extract.items_transform import ItemTransform


class NestedRecords(ItemTransform[Any, Any]):
    """A pipe step: each page of parents becomes the page of their matching children."""

    def __init__(
        self,
        field: str,
        match: tuple[str, str] | None,
        copied: tuple[str, ...] | dict[str, str],
    ) -> None:
        super().__init__(lambda item: item)
        # A dotted path (`_embedded.threads`) walks into objects.
        self.path = field.split(".")
        self.match = match
        # The child's field -> the parent's field it takes (the same name when a tuple).
        self.copied = copied if isinstance(copied, dict) else {k: k for k in copied}

    def __call__(self, item: Any, meta: Any = None) -> Any:
        """Replace a page's parents by their children, in place (the page keeps its paginator)."""
        if not isinstance(item, list):
            return item
        children = []
        for parent in item:
            for child in self._children(parent):
                if not isinstance(child, dict) or not self._matches(child):
                    continue
                inherited = {k: parent.get(p) for k, p in self.copied.items() if k not in child}
                children.append({**child, **inherited})
        item[:] = children
        return item

    def _children(self, parent: Any) -> Any:
        value = parent
        for key in self.path:
            value = value.get(key) if isinstance(value, dict) else None
        return value if isinstance(value, list) else ()

    def _matches(self, child: dict[str, Any]) -> bool:
        if self.match is None:
            return True
        field, value = self.match
        return str(child.get(field)) == value
