"""The HTTP session every request of a run goes through: retries, token refresh, telemetry.

dlt's own retrying session clamps a long `Retry-After` to its maximum delay (retrying
early) and has no hook for counting what it did, so the seed's policy is rebuilt here on
the same library dlt uses (tenacity) and handed to dlt's REST client as its session.
"""

import contextlib
import email.utils
import math
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import requests
import tenacity
from requests.adapters import HTTPAdapter
from requests.exceptions import ChunkedEncodingError, ConnectionError, Timeout
from requests.hooks import dispatch_hook

from support_assets.source.budget import EPOCH_THRESHOLD, RateBudget
from support_assets.source.concurrency import LimitedAdapter
from support_assets.source.contract import RetryPolicy
from support_assets.source.errors import ApiUnreachable, RetryAfterTooLong, SupportApiError
from support_assets.source.redaction import configured_secrets, redact, redact_text
from support_assets.source.telemetry import Telemetry
from support_assets.source.workarounds import SharedInRun

RETRY_EXCEPTIONS = (ConnectionError, Timeout, ChunkedEncodingError)


class TokenRefresher(Protocol):
    """What the session needs from the OAuth helper to survive revoked tokens."""

    access_token_url: str

    def bearer(self) -> str:
        """The `Authorization` header value, refreshing the token first when it is old."""
        ...

    def invalidate(self, rejected: str) -> None:
        """Forget the token the server just rejected (unless another thread replaced it)."""
        ...


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds the server asked us to wait: delta-seconds or an HTTP-date (RFC 9110)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if re.fullmatch(r"\d+", value):
        seconds = float(value)
        if seconds > EPOCH_THRESHOLD:  # a reset written as a Unix time, not a delay
            return max(0.0, seconds - (time.time() if now is None else now))
        return seconds
    parsed = email.utils.parsedate_tz(value)
    if parsed is None:
        return None
    return max(0.0, email.utils.mktime_tz(parsed) - (time.time() if now is None else now))


def describe(request: requests.PreparedRequest) -> str:
    """`GET /v1/tickets?offset=300&limit=100`: what an error message should point at."""
    url = urlsplit(request.url or "")
    secrets = configured_secrets()
    # Secret parameters go before unquoting, so an encoded `&` cannot split one.
    query = f"?{unquote(redact_text(url.query, secrets))}" if url.query else ""
    return redact_text(f"{request.method} {url.path}{query}", secrets)


class RetryingSession(SharedInRun, requests.Session):
    """A `requests.Session` that applies the retry policy and recovers from revoked tokens.

    Retrying happens around each attempt's `send`, below dlt's REST client, so a retried
    page is invisible to pagination: dlt sees one response per page. Every attempt first
    takes a slot from the desk's rate budget and shows it the answer (`budget.py`); a 429
    that spends the budget pauses it, so every worker waits it out, not only the one that
    got it.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        telemetry: Telemetry,
        sleep: Callable[[float], None] = time.sleep,
        retry_after_headers: tuple[str, ...] = ("Retry-After",),
        budget: RateBudget | None = None,
    ) -> None:
        super().__init__()
        self.policy = policy
        # Built alone (not through `connect`), a session paces only itself.
        self.budget = budget or RateBudget()
        # Per worker: the end of the 429 pause this worker has slept through itself.
        self._local = threading.local()
        self.retry_after_headers = retry_after_headers
        self.telemetry = telemetry
        self.tokens: TokenRefresher | None = None
        self._sleep = sleep
        self._environment_settings: dict[tuple[Any, ...], dict[str, Any]] = {}
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def merge_environment_settings(  # type: ignore[override]
        self, url: str | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        """Proxy and CA settings from the environment, read once per host.

        requests scans the whole environment for proxy variables on every request (a
        tenth of a page's cost here); the environment does not change during a run.
        """
        parts = urlsplit(url or "")
        key = (parts.scheme, parts.netloc, repr(proxies), stream, repr(verify), repr(cert))
        settings = self._environment_settings.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url or "", proxies, stream, verify, cert)
            self._environment_settings[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Send with the policy's retries; hooks run on the final response only."""
        # `requests.Session.request` passes `timeout=None` explicitly: None means unset here.
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.policy.request_timeout
        hooks = request.hooks
        # Response hooks (dlt's raise-for-status, our page checks) must see the final answer,
        # not each retried attempt.
        request.hooks = {"response": []}
        try:
            response = self._send_with_retries(request, **kwargs)
        finally:
            request.hooks = hooks
        # The session's own hooks (the desk's clock) see every final answer: dlt sends its
        # prepared requests without merging them in, as `requests.Session.request` would.
        own = [h for h in self.hooks["response"] if h not in hooks.get("response", [])]
        response = dispatch_hook("response", {"response": own}, response, **kwargs)
        return dispatch_hook("response", hooks, response, **kwargs)

    def _send_with_retries(
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        policy = self.policy
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.max_attempts),
            retry=tenacity.retry_if_exception_type(RETRY_EXCEPTIONS)
            | tenacity.retry_if_result(lambda r: r.status_code in policy.statuses),
            wait=self._wait,
            before_sleep=self._count_retry,
            sleep=self._sleep,
            retry_error_callback=self._give_up,
        )
        return retrying(self._attempt, request, **kwargs)

    def _give_up(self, state: tenacity.RetryCallState) -> requests.Response:
        """Say what failed, how often and where, once the attempts are spent."""
        assert state.outcome is not None
        attempts = f"{state.attempt_number} attempt{'s' if state.attempt_number > 1 else ''}"
        request = state.args[0]
        if state.outcome.failed:
            exc = state.outcome.exception()
            # requests' own message repeats the URL with its query: redacted here, and not
            # chained, or the run log would show it in the cause.
            raise ApiUnreachable(
                f"{type(exc).__name__} after {attempts} on {describe(request)}: "
                f"{redact(str(exc))}. "
                "Check that the API is reachable (SUPPORT_API_BASE_URL) and run again.",
                error_type=type(exc).__name__,
            ) from None
        response = state.outcome.result()
        raise SupportApiError(
            f"HTTP {response.status_code} after {attempts} on {describe(request)}: the API "
            "kept failing; nothing from this run was loaded. Run again later."
        )

    def _attempt(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        bearer = self._refresh_header(request)
        try:
            response = self._send_paced(request, **kwargs)
        except RETRY_EXCEPTIONS:
            self.telemetry.count_error()
            raise
        self.telemetry.count_response(response.status_code)
        if response.status_code == 401 and bearer is not None and self.tokens is not None:
            response = self._recover_token(request, bearer, response, **kwargs)
        return response

    def _recover_token(
        self,
        request: requests.PreparedRequest,
        rejected: str,
        response: requests.Response,
        **kwargs: Any,
    ) -> requests.Response:
        """Repeat a request whose token was refused, replacing each token once, not each request.

        Both resources share one token: when the other thread has already replaced the one
        refused here, the request repeats with its replacement instead of counting as a
        second refusal; only a token fetched for this very request and refused again means
        the credentials do not open this API.
        """
        assert self.tokens is not None
        for _ in range(self.policy.max_attempts):
            current = self.tokens.bearer()
            fresh = current == rejected  # nobody replaced it yet: this request does
            if fresh:
                self.tokens.invalidate(rejected)
                current = self.tokens.bearer()
            self.telemetry.count_token_recovery()
            request.headers["Authorization"] = current
            response.close()
            response = self._send_paced(request, **kwargs)
            self.telemetry.count_response(response.status_code)
            if response.status_code != 401:
                return response
            if fresh:
                raise SupportApiError(
                    f"credentials rejected: {describe(request)} refused a token just issued "
                    f"by {self.tokens.access_token_url} (HTTP 401 twice). Check that the "
                    "client may read this API and that SUPPORT_API_TOKEN_URL belongs to it."
                )
            rejected = current
        raise SupportApiError(
            f"credentials rejected: {describe(request)} refused {self.policy.max_attempts + 1} "
            f"tokens from {self.tokens.access_token_url} in a row (HTTP 401). Check that the "
            "client may read this API and that SUPPORT_API_TOKEN_URL belongs to it."
        )

    def _send_paced(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """One request on the wire, in its turn of the desk's budget, which sees the answer.

        The concurrency slot comes first: the budget counts what is in flight.
        """
        adapter = self.get_adapter(request.url or "")
        with adapter.slot() if isinstance(adapter, LimitedAdapter) else contextlib.nullcontext():
            slot = self.budget.acquire(self._sleep, covered=getattr(self._local, "covered", 0.0))
            self.telemetry.count_budget_wait(slot.paced_s, slot.held_s)
            try:
                response = super().send(request, **kwargs)
            except BaseException:
                self.budget.release()
                raise
            self.budget.observe(response)
            return response

    def _refresh_header(self, request: requests.PreparedRequest) -> str | None:
        """Put a current token on a request that carries one; returns the header sent."""
        current = str(request.headers.get("Authorization") or "")
        if self.tokens is None or not current.startswith("Bearer "):
            return None
        bearer = self.tokens.bearer()
        request.headers["Authorization"] = bearer
        return bearer

    def _retry_after(self, response: requests.Response | None) -> str | None:
        """How long the desk asked to wait, from the first of its headers that says.

        `Retry-After` (RFC 9110), or the desk's own (`X-RateLimit-Retry-After`); failing
        those, a spent budget's reset (`X-RateLimit-Remaining: 0` with `X-RateLimit-Reset`,
        in seconds or as a Unix time).
        """
        if response is None:
            return None
        headers = response.headers
        for name in self.retry_after_headers:
            if headers.get(name):
                return headers[name]
        for prefix in ("X-RateLimit", "RateLimit", "X-Rate-Limit"):
            if headers.get(f"{prefix}-Remaining", "").strip() == "0" and headers.get(
                f"{prefix}-Reset"
            ):
                return headers[f"{prefix}-Reset"]
        return None

    def _wait(self, state: tenacity.RetryCallState) -> float:
        """Exponential backoff, but never earlier than `Retry-After` says."""
        backoff = self.policy.backoff(state.attempt_number)
        response = _response_of(state)
        header = self._retry_after(response)
        asked = parse_retry_after(header)
        if asked is None:
            return backoff
        if asked > self.policy.max_wait:
            assert response is not None
            raise RetryAfterTooLong(
                f"{describe(response.request)} answered {response.status_code} with "
                f"Retry-After {math.ceil(asked)}s, longer than the maximum wait of "
                f"{self.policy.max_wait:.0f}s (SUPPORT_MAX_RETRY_WAIT): not retrying early. "
                "Run again later or raise SUPPORT_MAX_RETRY_WAIT."
            )
        if response is not None and response.status_code == 429 and self.budget.spent_by(response):
            # Every worker waits a spent budget's 429 out; this one sleeps it below, so it
            # is not held by the pause it set.
            until = self.budget.pause(asked)
            self._local.covered = max(until, getattr(self._local, "covered", 0.0))
        # Retry-After: 0 still backs off, so a busy server cannot make us burn every attempt.
        return max(asked, backoff)

    def _count_retry(self, state: tenacity.RetryCallState) -> None:
        response = _response_of(state)
        waited = state.next_action.sleep if state.next_action else 0.0
        if response is not None:
            cause = str(response.status_code)
            retry_after = self._retry_after(response)
            response.close()
        else:
            exc = state.outcome.exception() if state.outcome else None
            cause = type(exc).__name__ if exc else "error"
            retry_after = None
        self.telemetry.count_retry(cause, waited, retry_after)


def _response_of(state: tenacity.RetryCallState) -> requests.Response | None:
    if state.outcome is None or state.outcome.failed:
        return None
    result = state.outcome.result()
    return result if isinstance(result, requests.Response) else None
