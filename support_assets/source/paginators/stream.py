"""A desk's change stream (Zendesk's incremental exports): follow it to its own end.

An export lists changes in the order the desk made them, from a start time: a record
updated while the run reads moves to the stream's end, where the run reads it again, so
churn cannot hide one. The first request carries the since parameter; each later one only
the stream's cursor (`after_cursor` sent as `cursor`) or its next URL (`next_page`), until
the page says `end_of_stream`.

The desk refuses a start time younger than `min_since_age` seconds (Zendesk: 400
`StartTimeTooRecent` under a minute): such a start is moved back that far, which re-reads
a little and merges it. The run's upper bound is enforced on the records, as for the
re-seeking lists: what is stamped at or after it is the next run's.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import requests
from dlt.common import jsonpath
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from support_assets.source.errors import MalformedPage
from support_assets.source.session import describe
from support_assets.source.timestamps import cursor_instant, format_since


class StreamPaginator(BasePaginator):
    """Follow a change stream's cursor or next URL until its end; see the module docstring."""

    def __init__(
        self,
        *,
        resource: str,
        since_param: str,
        since_format: str,
        cursor_field: str,
        cursor_format: str,
        upper_bound: Callable[[], dt.datetime],
        desk_now: Callable[[], dt.datetime],
        min_since_age: int = 0,
        next_cursor_path: str | None = None,
        cursor_param: str | None = None,
        next_url_path: str | None = None,
        end_path: str | None = None,
        limit_param: str | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__()
        if not (next_cursor_path and cursor_param) and not next_url_path:
            raise ValueError(
                f"{resource}: a stream needs where the next cursor is and the parameter that "
                "sends it (SUPPORT_NEXT_CURSOR_PATH, SUPPORT_CURSOR_PARAM), or where the next "
                "URL is (SUPPORT_NEXT_URL_PATH)"
            )
        self.resource = resource
        self.since_param = since_param
        self.since_format = since_format
        self.cursor_field = cursor_field
        self.cursor_format = cursor_format
        self.upper_bound = upper_bound
        self.desk_now = desk_now
        self.min_since_age = min_since_age
        self.cursor_param = cursor_param
        self.limit_param = limit_param
        self.limit = limit
        self._cursor_path = jsonpath.compile_path(next_cursor_path) if next_cursor_path else None
        self._url_path = jsonpath.compile_path(next_url_path) if next_url_path else None
        self._end_path = jsonpath.compile_path(end_path) if end_path else None
        self.upper: dt.datetime | None = None
        self._cursor: str | None = None
        self._url: str | None = None

    def init_request(self, request: requests.Request) -> None:  # type: ignore[override]
        """The first request: the since parameter, no younger than the desk accepts.

        The run's upper bound is fixed at the first answer, whose `Date` header gives the
        desk's clock even to a desk without a token request.
        """
        self.upper = None
        params = self._params(request)
        since = params.get(self.since_param)
        if since not in (None, "") and self.min_since_age:
            start = cursor_instant(since, self.since_format)
            oldest_allowed = self.desk_now() - dt.timedelta(seconds=self.min_since_age)
            if start > oldest_allowed:
                params[self.since_param] = format_since(oldest_allowed, self.since_format)
        if self.limit_param and self.limit:
            params[self.limit_param] = self.limit
        self._has_next_page = True

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        """Keep what is inside the run's bound; follow the stream unless it ended."""
        records = data if data is not None else []
        if self.upper is None:
            self.upper = self.upper_bound()
        for index, record in enumerate(records):
            if self._cursor_of(record, response) >= self.upper:
                del records[index:]  # the next run's
                self._has_next_page = False
                return
        body = response.json()
        if self._end_path is not None:
            ended = jsonpath.find_values(self._end_path, body)
            if ended and ended[0] is True:
                self._has_next_page = False
                return
        # The stream's position: its cursor where the page has one, else its next URL
        # (Zendesk's ticket export gives `after_cursor`, its event export `next_page`).
        cursor = _first(self._cursor_path, body)
        url = None if cursor is not None else _first(self._url_path, body)
        position = (cursor, url)
        if position == (None, None) or (position == (self._cursor, self._url) and not records):
            self._has_next_page = False
            return
        if position == (self._cursor, self._url):
            # The desk points at the page it just served (Zendesk's time-based export does
            # when more events than a page share one second): it cannot page inside it.
            raise MalformedPage(
                f"{self.resource}: {describe(response.request)} points at itself as the "
                "next page: more records share one second than a page holds, and the "
                "stream cannot move past them. Nothing from this run was loaded and the "
                "cursor did not move; raise SUPPORT_PAGE_SIZE (Zendesk allows 1000)."
            )
        self._cursor, self._url = position

    def update_request(self, request: requests.Request) -> None:  # type: ignore[override]
        """After the first page, only the stream's own position (and the page size)."""
        if not self._has_next_page:
            return
        params = self._params(request)
        params.clear()
        if self._url is not None:
            request.url = self._url  # it carries the whole query, the start time included
        elif self._cursor is not None and self.cursor_param:
            params[self.cursor_param] = self._cursor
        if self.limit_param and self.limit and self._url is None:
            params[self.limit_param] = self.limit

    def _params(self, request: requests.Request) -> dict[str, Any]:
        if not isinstance(request.params, dict):
            request.params = {}
        return cast(dict[str, Any], request.params)

    def _cursor_of(self, record: Any, response: requests.Response) -> dt.datetime:
        try:
            return cursor_instant(record[self.cursor_field], self.cursor_format)
        except (KeyError, TypeError, ValueError):
            raise MalformedPage(
                f"{self.resource}: a record on {describe(response.request)} has no readable "
                f"{self.cursor_field!r} (the cursor field, {self.cursor_format}). Nothing from "
                "this run was loaded and the cursor did not move; check SUPPORT_CURSOR_FIELD "
                "and SUPPORT_CURSOR_FORMAT for this resource."
            ) from None


def _first(path: Any, body: Any) -> str | None:
    """The value at a compiled JSONPath, as text; None when absent, null or empty."""
    if path is None:
        return None
    found = jsonpath.find_values(path, body)
    return str(found[0]) if found and found[0] not in (None, "") else None
