"""What can go wrong reading a desk, one class per cause, all under `SupportApiError`.

Every message names what was wrong and what to do, and says that nothing was loaded when
that is so; none quotes a secret or a record's body (customers' personal data).
"""


class SupportApiError(RuntimeError):
    """The Support API did something the run cannot recover from; the message says what."""


class ApiUnreachable(SupportApiError):
    """No response at all after every attempt (connection refused, timeout, reset).

    Raised without its cause, whose text repeats the URL and its query; `error_type`
    keeps what went wrong for callers that name the right setting (the token URL's).
    """

    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class RetryAfterTooLong(SupportApiError):
    """The server asked to wait longer than the policy allows, so retrying would be early."""


class CredentialsRejected(SupportApiError):
    """The token endpoint refused the client id or secret."""


class MalformedPage(SupportApiError):
    """A 200 response that is not the page the contract describes."""


class IncompleteWindow(SupportApiError):
    """The API's `total` and what the run read disagree even after re-reading."""


class RequestRefused(SupportApiError):
    """The API refused a page request as malformed: a setting does not fit this vendor."""


class RecordsWithoutId(SupportApiError):
    """Records without a primary key: they cannot be merged, so nothing is loaded."""


class UnusableIds(RecordsWithoutId):
    """Primary keys of a type the key column cannot hold; refused like missing ones."""


class DuplicateIdInPage(MalformedPage):
    """One page lists the same id twice: no re-read can make that page agree with `total`."""


class UnloadableValue(SupportApiError):
    """A record's value no column can take: the message names the record and its page."""
