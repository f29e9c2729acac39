"""The desk's mechanisms as settings: a preset's values, each overridden by its variable."""

from support_assets.settings.reader import Reader, SettingsError
from support_assets.source.contract import (
    AUTH_KINDS,
    CURSOR_FORMATS,
    OAUTH_CLIENT_AUTH,
    PAGINATIONS,
    ApiNames,
    EndpointNames,
)


def read_api(get: Reader, base: ApiNames) -> ApiNames:
    """The desk's names and mechanisms: the preset's, each overridden by its own setting."""
    tickets, comments = base.tickets, base.comments
    return ApiNames(
        tickets=EndpointNames(
            get.text("SUPPORT_TICKETS_PATH", tickets.path),
            get.text("SUPPORT_TICKETS_SELECTOR", tickets.data_selector),
            cursor_field=get.optional("SUPPORT_TICKETS_CURSOR_FIELD", tickets.cursor_field),
            params=get.params("SUPPORT_TICKETS_PARAMS", tickets.params),
        ),
        comments=EndpointNames(
            get.text("SUPPORT_COMMENTS_PATH", comments.path),
            get.text("SUPPORT_COMMENTS_SELECTOR", comments.data_selector),
            cursor_field=get.optional("SUPPORT_COMMENTS_CURSOR_FIELD", comments.cursor_field),
            params=get.params("SUPPORT_COMMENTS_PARAMS", comments.params),
            nested=get.optional("SUPPORT_COMMENTS_NESTED", comments.nested),
            nested_filter=get.pair("SUPPORT_COMMENTS_NESTED_FILTER", comments.nested_filter),
            nested_ticket_field=get.text(
                "SUPPORT_COMMENTS_NESTED_TICKET_FIELD", comments.nested_ticket_field
            ),
        ),
        pagination=get.choice("SUPPORT_PAGINATION", base.pagination, PAGINATIONS),
        offset_param=get.text("SUPPORT_OFFSET_PARAM", base.offset_param),
        limit_param=get.optional("SUPPORT_LIMIT_PARAM", base.limit_param),
        page_size=get.integer("SUPPORT_PAGE_SIZE", base.page_size, minimum=1),
        page_param=get.text("SUPPORT_PAGE_PARAM", base.page_param),
        first_page=get.integer("SUPPORT_FIRST_PAGE", base.first_page, minimum=0),
        next_link=get.optional("SUPPORT_NEXT_LINK", base.next_link),
        next_cursor_path=get.optional("SUPPORT_NEXT_CURSOR_PATH", base.next_cursor_path),
        cursor_param=get.optional("SUPPORT_CURSOR_PARAM", base.cursor_param),
        next_url_path=get.optional("SUPPORT_NEXT_URL_PATH", base.next_url_path),
        end_path=get.optional("SUPPORT_END_PATH", base.end_path),
        total_path=get.optional("SUPPORT_TOTAL_PATH", base.total_path),
        primary_key=get.text("SUPPORT_PRIMARY_KEY", base.primary_key),
        cursor_field=get.text("SUPPORT_CURSOR_FIELD", base.cursor_field),
        cursor_format=get.choice("SUPPORT_CURSOR_FORMAT", base.cursor_format, CURSOR_FORMATS),
        since_param=get.text("SUPPORT_SINCE_PARAM", base.since_param),
        since_format=get.choice("SUPPORT_SINCE_FORMAT", base.since_format, CURSOR_FORMATS),
        before_param=get.optional("SUPPORT_BEFORE_PARAM", base.before_param),
        min_since_age=get.integer("SUPPORT_MIN_SINCE_AGE", base.min_since_age, minimum=0),
        ticket_key=get.text("SUPPORT_TICKET_KEY", base.ticket_key),
        child_next_link=get.optional("SUPPORT_COMMENTS_NEXT_LINK", base.child_next_link),
        auth=get.choice("SUPPORT_AUTH", base.auth, AUTH_KINDS),
        oauth_client_auth=get.choice(
            "SUPPORT_OAUTH_CLIENT_AUTH", base.oauth_client_auth, OAUTH_CLIENT_AUTH
        ),
        token_path=get.text("SUPPORT_TOKEN_PATH", base.token_path),
        api_key_header=get.text("SUPPORT_API_KEY_HEADER", base.api_key_header),
        retry_after_headers=get.names("SUPPORT_RETRY_AFTER_HEADERS", base.retry_after_headers),
        rate_limit_remaining_header=get.optional(
            "SUPPORT_RATE_LIMIT_REMAINING_HEADER", base.rate_limit_remaining_header
        ),
        rate_limit_reset_header=get.optional(
            "SUPPORT_RATE_LIMIT_RESET_HEADER", base.rate_limit_reset_header
        ),
        rate_limit_limit_header=get.optional(
            "SUPPORT_RATE_LIMIT_LIMIT_HEADER", base.rate_limit_limit_header
        ),
        requester_field=get.text("SUPPORT_REQUESTER_FIELD", base.requester_field),
    )


def check_mechanisms(api: ApiNames, vendor: str) -> None:
    """Refuse combinations that cannot be read without loss, naming the settings."""
    if api.pagination == "offset" and api.before_param is None:
        raise SettingsError(
            f"SUPPORT_PAGINATION=offset (SUPPORT_VENDOR={vendor}) needs an upper-bound "
            "parameter (SUPPORT_BEFORE_PARAM): offset pages over live data skip records "
            "without one. A desk that numbers pages or links them is read with "
            "SUPPORT_PAGINATION=page_number, a change stream with stream."
        )
    if api.pagination == "stream" and not (
        (api.next_cursor_path and api.cursor_param) or api.next_url_path
    ):
        raise SettingsError(
            "SUPPORT_PAGINATION=stream needs where the next position is: "
            "SUPPORT_NEXT_CURSOR_PATH with SUPPORT_CURSOR_PARAM, or SUPPORT_NEXT_URL_PATH."
        )
