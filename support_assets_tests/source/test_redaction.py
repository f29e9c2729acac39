"""One redaction for errors, run logs and alerts: the secret goes, the words around it stay."""

import pytest
import requests

from support_assets.source.redaction import redact
from support_assets_tests.helpers import free_port


def real_connection_error(url: str) -> str:
    """requests' own text for a refused connection, as a failed run quotes it."""
    with pytest.raises(requests.ConnectionError) as caught:
        requests.post(url, timeout=5)
    return str(caught.value)


def test_a_connection_error_to_the_token_url_keeps_its_host_and_port() -> None:
    port = free_port()
    text = real_connection_error(f"http://127.0.0.1:{port}/oauth/token")
    message = f"could not get a token from http://127.0.0.1:{port}/oauth/token: {text}"
    assert f"HTTPConnectionPool(host='127.0.0.1', port={port})" in message

    assert redact(message, secrets=()) == message


def test_a_connection_error_loses_only_the_secret_of_its_url() -> None:
    port = free_port()
    text = real_connection_error(f"http://127.0.0.1:{port}/v1/tickets?api_key=k-93f1&offset=0")

    redacted = redact(text, secrets=())

    assert redacted == text.replace("api_key=k-93f1", "api_key=[redacted]")
    assert f"HTTPConnectionPool(host='127.0.0.1', port={port})" in redacted


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET /v1/tickets?token=a1&key=b2&sig=c3&signature=d4&X-Amz-Signature=e5&limit=100",
            "GET /v1/tickets?token=[redacted]&key=[redacted]&sig=[redacted]"
            "&signature=[redacted]&X-Amz-Signature=[redacted]&limit=100",
        ),
        (
            "POST /oauth/token?client_secret=s1&password=p2&access_token=t3&apikey=k4",
            "POST /oauth/token?client_secret=[redacted]&password=[redacted]"
            "&access_token=[redacted]&apikey=[redacted]",
        ),
        (
            '{"access_token": "eyJ.x.y", "expires_in": 3600, \'refresh_token\': \'r1\'}',
            '{"access_token": "[redacted]", "expires_in": 3600, \'refresh_token\': \'[redacted]\'}',
        ),
        (
            "Authorization: Bearer eyJhbGciOi.e30.sig and Authorization: Basic dXNlcjpwYXNz",
            "Authorization: [redacted token] and Authorization: Basic [redacted]",
        ),
        (
            "client_secret: hunter22, x-api-key: k9",
            "client_secret: [redacted], x-api-key: [redacted]",
        ),
        ("postgresql://loader:pw@db:5432/warehouse", "postgresql://[redacted]@db:5432/warehouse"),
        (
            "HTTP 503 after 4 attempts on GET /v1/tickets?offset=300&limit=100: the API kept "
            "failing; basic authentication and a token: expired, monkey=1",
            "HTTP 503 after 4 attempts on GET /v1/tickets?offset=300&limit=100: the API kept "
            "failing; basic authentication and a token: expired, monkey=1",
        ),
    ],
    ids=["query", "oauth-query", "json", "authorization", "name-colon", "userinfo", "prose"],
)
def test_secrets_go_and_the_words_around_them_stay(text: str, expected: str) -> None:
    assert redact(text, secrets=()) == expected


def test_configured_secrets_are_redacted_wherever_they_appear(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SUPPORT_API_CLIENT_SECRET", "canary-0042")
    text = "a page echoed canary-0042 in its body; SUPPORT_API_CLIENT_SECRET=canary-0042"

    assert redact(text) == (
        "a page echoed [redacted] in its body; SUPPORT_API_CLIENT_SECRET=[redacted]"
    )
    assert redact({"cause": [text]}) == {"cause": [redact(text)]}
