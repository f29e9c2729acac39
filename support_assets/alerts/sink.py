"""Where alerts go: a Slack-compatible webhook, and always the sensor's own log.

The sensors log every alert as well, so with no webhook configured the sensor's tick log in
the UI is the sink. The webhook URL is a secret (whoever has it can post to the channel): it
never reaches a log, a tick or a delivery's description.
"""

import dataclasses
import logging
import time
from urllib.parse import urlsplit

import dagster as dg
import requests
from pydantic import Field

from support_assets.alerts.messages import Alert
from support_assets.source.urls import is_loopback_host, url_problem

WEBHOOK_VARIABLE = "SUPPORT_ALERT_WEBHOOK_URL"
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclasses.dataclass(frozen=True)
class Delivery:
    """How sending one alert went; `detail` never contains the webhook URL."""

    delivered: bool
    detail: str


class AlertSink(dg.ConfigurableResource):
    """Where alerts go: a Slack-compatible webhook, or only the sensor's log when unset."""

    webhook_url: str = Field(
        default="",
        description=(
            "Incoming-webhook URL (SUPPORT_ALERT_WEBHOOK_URL, a secret); empty: alerts go "
            "to the sensor's log and the UI only"
        ),
    )
    attempts: int = Field(default=3, description="POSTs per alert within one sensor tick")
    backoff_s: float = Field(
        default=1.0, description="Seconds before the second POST, doubling after each failure"
    )
    timeout_s: float = Field(default=5.0, description="Seconds each POST may take")

    @property
    def configured(self) -> bool:
        """Whether alerts are posted anywhere besides the sensor's log."""
        return bool(self.webhook_url.strip())

    def deliver(self, alert: Alert, log: logging.Logger) -> Delivery:
        """POST the alert, retrying with backoff; never raises, never logs the URL."""
        if not self.configured:
            return Delivery(True, "logged only (no webhook configured)")
        problem = webhook_url_problem(self.webhook_url)
        if problem:
            log.error(problem)
            return Delivery(False, problem)
        attempts = max(1, self.attempts)
        attempt = 0
        while True:
            attempt += 1
            retryable, detail = self._post(alert)
            if not detail:
                return Delivery(True, "delivered to the webhook")
            last = attempt >= attempts or not retryable
            log.warning(
                f"Alert {alert.id}: webhook attempt {attempt} of {attempts} failed "
                f"({detail}){'' if last else '; retrying'}."
            )
            if last:
                return Delivery(False, f"{detail} after {attempt} attempt{'s' * (attempt > 1)}")
            time.sleep(self.backoff_s * 2 ** (attempt - 1))

    def _post(self, alert: Alert) -> tuple[bool, str]:
        """One POST: (worth retrying, what went wrong); an empty description is success."""
        url = self.webhook_url.strip()
        with requests.Session() as session:
            # Loopback (tests, a local relay) never goes through a proxy from the environment.
            session.trust_env = not is_loopback_host(urlsplit(url).hostname)
            try:
                response = session.post(
                    url, json=alert.payload(), timeout=self.timeout_s, allow_redirects=False
                )
            except requests.RequestException as exc:
                # The exception's text contains the URL, a secret: name only its type.
                return True, type(exc).__name__
        if 200 <= response.status_code < 300:
            return False, ""
        return response.status_code in RETRYABLE_STATUSES, f"HTTP {response.status_code}"


def webhook_url_problem(url: str) -> str:
    """Why the webhook URL cannot be used, without quoting it; empty when it is fine."""
    return url_problem(url, WEBHOOK_VARIABLE, secret=True)
