"""Page-number and next-link lists, read by re-seeking on the cursor so that churn skips nothing.

A desk that lists records in ascending update order by page number (Freshdesk's ticket
list, Help Scout's conversations) or by next links shifts every record behind one that
is updated during the run one place forward: a client that follows page numbers skips a
record per update, and a cursor that then passes it loses it for good. Freshdesk also
refuses pages past the 300th.

So no page after the first is asked for by number. Each request asks again from the
newest cursor value read so far (the since parameter is inclusive), page 1: the answer
holds every record at or after that value that has not moved, in order, so none can slip
behind the reader. Records of that last second come back once more and are merged on
their id. Only when a whole page shares one second does the reader page on by number
inside that second (the only place a churned record could still shift; it says so).

The end of data is the desk's own signal: no next link, or an empty page; a short page is
not an end. Without an upper-bound parameter the run's bound is enforced on the records:
records stamped at or after it are not passed on (they are the next run's), and the read
stops there, so the cursor never passes a record this run did not load.
"""

import datetime as dt
from collections.abc import Callable
from typing import Any, cast

import requests
from dlt.common import jsonpath, logger
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from support_assets.source.errors import MalformedPage
from support_assets.source.session import describe
from support_assets.source.timestamps import cursor_instant, format_since

# How many pages one second may fill before the run stops trusting page numbers in it.
MAX_PAGES_IN_ONE_SECOND = 50


class ReseekPaginator(BasePaginator):
    """Re-seek on the cursor after every page; see the module docstring."""

    def __init__(
        self,
        *,
        resource: str,
        since_param: str,
        since_format: str,
        cursor_field: str,
        cursor_format: str,
        primary_key: str,
        upper_bound: Callable[[], dt.datetime],
        page_param: str | None = None,
        first_page: int = 1,
        limit_param: str | None = None,
        limit: int | None = None,
        before_param: str | None = None,
        next_link: str | None = None,
    ) -> None:
        super().__init__()
        self.resource = resource
        self.since_param = since_param
        self.since_format = since_format
        self.cursor_field = cursor_field
        self.cursor_format = cursor_format
        self.primary_key = primary_key
        self.upper_bound = upper_bound
        self.page_param = page_param
        self.first_page = first_page
        self.limit_param = limit_param
        self.limit = limit
        self.before_param = before_param
        # "header" (an RFC 8288 `Link: <...>; rel="next"`), a JSONPath into the body
        # (`_links.next.href`), or None: only an empty page ends the read.
        self.next_link = next_link
        self._next_path = (
            None if next_link in (None, "header") else jsonpath.compile_path(next_link)
        )
        self.since: dt.datetime | None = None
        self.upper: dt.datetime | None = None
        self.page = first_page
        self.seeks = 0  # re-seeks in this run, for the telemetry
        self._pages_in_second = 0
        self._warned = False

    def init_request(self, request: requests.Request) -> None:  # type: ignore[override]
        """Start at the incremental's lower bound, and fix the run's upper bound."""
        params = cast(dict[str, Any], request.params if isinstance(request.params, dict) else {})
        since = params.get(self.since_param)
        self.since = cursor_instant(since, self.since_format) if since not in (None, "") else None
        # Without an upper-bound parameter the bound is fixed at the first answer, whose
        # `Date` header gives the desk's clock even to a desk without a token request.
        self.upper = self.upper_bound() if self.before_param else None
        before = params.get(self.before_param) if self.before_param else None
        if before not in (None, "") and self.upper is not None:
            self.upper = min(self.upper, cursor_instant(before, self.since_format))
        self.page = self.first_page
        self._has_next_page = True
        self._apply(request)

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        """Keep what is inside the run's bound, then re-seek, page on, or end."""
        records = data if data is not None else []
        if self.upper is None:
            self.upper = self.upper_bound()
        keys = [self._key(record, response) for record in records]
        beyond = next((i for i, key in enumerate(keys) if key[0] >= self.upper), None)
        if beyond is not None:
            del records[beyond:]  # the next run's: stamped at or after this run's bound
            self._has_next_page = False
            return
        if not records or not self._more(response):
            self._has_next_page = False
            return
        newest = keys[-1][0]
        if self.since is None or newest > self.since:
            self.since, self.page = newest, self.first_page
            self._pages_in_second = 0
            self.seeks += 1
            return
        # The whole page lies in the second already reached: page on inside it.
        self._pages_in_second += 1
        if self.page_param is None or self._pages_in_second > MAX_PAGES_IN_ONE_SECOND:
            raise MalformedPage(
                f"{self.resource}: more than {self._pages_in_second} page(s) of records share "
                f"the second {format_since(newest, 'rfc3339')} and the desk cannot be paged "
                "inside it safely. Nothing from this run was loaded and the cursor did not "
                "move; raise SUPPORT_PAGE_SIZE if the desk allows, or ask the vendor."
            )
        if not self._warned:
            self._warned = True
            logger.warning(
                f"{self.resource}: a whole page of records shares the second "
                f"{format_since(newest, 'rfc3339')}; reading on by page number inside it. A "
                "record of that second updated meanwhile could shift past this read; the next "
                "run reads that second again."
            )
        self.page += 1

    def update_request(self, request: requests.Request) -> None:  # type: ignore[override]
        """Ask again from the newest cursor read (or the next page inside its second)."""
        self._apply(request)

    def _apply(self, request: requests.Request) -> None:
        if not isinstance(request.params, dict):
            request.params = {}
        params = cast(dict[str, Any], request.params)
        if self.since is not None:
            params[self.since_param] = format_since(self.since, self.since_format)
        if self.before_param and self.upper is not None:
            params[self.before_param] = format_since(self.upper, self.since_format)
        if self.page_param:
            params[self.page_param] = self.page
        if self.limit_param and self.limit:
            params[self.limit_param] = self.limit

    def _more(self, response: requests.Response) -> bool:
        """The desk's own word on whether anything follows this page."""
        if self.next_link is None:
            return True  # only an empty page ends the read
        if self.next_link == "header":
            return "next" in response.links
        assert self._next_path is not None
        found = jsonpath.find_values(self._next_path, response.json())
        return bool(found and found[0])

    def _key(self, record: Any, response: requests.Response) -> tuple[dt.datetime, Any]:
        try:
            cursor = cursor_instant(record[self.cursor_field], self.cursor_format)
            return cursor, record.get(self.primary_key)
        except (KeyError, TypeError, ValueError):
            raise MalformedPage(
                f"{self.resource}: a record on {describe(response.request)} has no readable "
                f"{self.cursor_field!r} (the cursor field): the desk's order cannot be "
                "followed without it. Nothing from this run was loaded and the cursor did not "
                "move; check SUPPORT_CURSOR_FIELD for this resource."
            ) from None
