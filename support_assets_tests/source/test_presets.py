"""The presets: each names a desk's mechanisms, and every one is a setting of its own."""

import pytest
from dlt.sources.rest_api import rest_api_resources

from support_assets.settings import Settings, SettingsError
from support_assets.source.config import seed_config, to_dlt_config
from support_assets.source.contract import DEFAULT_API
from support_assets.source.vendors import PRESETS, preset


@pytest.mark.parametrize("vendor", list(PRESETS), ids=str)
def test_each_preset_names_the_two_resources(vendor: str) -> None:
    api = preset(vendor)
    config = to_dlt_config(seed_config(api), connection=None, window=None, api=api)

    assert [r.name for r in rest_api_resources(config)] == ["support_tickets", "ticket_comments"]


@pytest.mark.parametrize("vendor", list(PRESETS), ids=str)
def test_setting_only_the_vendor_gives_its_preset(vendor: str) -> None:
    settings = Settings.from_env({"SUPPORT_VENDOR": vendor})

    assert settings.vendor == vendor
    assert settings.api == preset(vendor)


def test_the_generic_preset_is_the_reference_contract() -> None:
    assert preset("generic") == DEFAULT_API


def test_a_setting_overrides_its_presets_value() -> None:
    settings = Settings.from_env(
        {
            "SUPPORT_VENDOR": "freshdesk",
            "SUPPORT_PAGE_SIZE": "50",
            "SUPPORT_TICKETS_PARAMS": "order_by=updated_at&order_type=asc&filter=deleted",
        }
    )

    assert settings.api.page_size == 50
    assert settings.api.tickets.params == (
        ("order_by", "updated_at"),
        ("order_type", "asc"),
        ("filter", "deleted"),
    )
    assert settings.api.pagination == "page_number"  # the rest stays the preset's


@pytest.mark.parametrize(
    "name", ["SUPPORT_LIMIT_PARAM", "SUPPORT_BEFORE_PARAM", "SUPPORT_TOTAL_PATH"]
)
def test_an_optional_parameter_set_empty_is_never_sent(name: str) -> None:
    settings = Settings.from_env({name: "", "SUPPORT_PAGINATION": "page_number"})
    field = {"SUPPORT_LIMIT_PARAM": "limit_param", "SUPPORT_BEFORE_PARAM": "before_param"}
    assert getattr(settings.api, field.get(name, "total_path")) is None


def test_an_unknown_vendor_is_refused_naming_the_presets() -> None:
    with pytest.raises(SettingsError, match=r"SUPPORT_VENDOR='zendsk'.*generic, zendesk"):
        Settings.from_env({"SUPPORT_VENDOR": "zendsk"})


def test_page_numbers_configured_as_offsets_are_refused_naming_the_settings() -> None:
    # Help Scout numbers its pages and has no upper bound: offsets would skip records.
    with pytest.raises(SettingsError, match=r"SUPPORT_PAGINATION=offset.*SUPPORT_BEFORE_PARAM"):
        Settings.from_env({"SUPPORT_VENDOR": "helpscout", "SUPPORT_PAGINATION": "offset"})


def test_a_stream_without_a_position_is_refused_naming_the_settings() -> None:
    with pytest.raises(SettingsError, match="SUPPORT_NEXT_CURSOR_PATH"):
        Settings.from_env(
            {
                "SUPPORT_VENDOR": "zendesk",
                "SUPPORT_NEXT_CURSOR_PATH": "",
                "SUPPORT_NEXT_URL_PATH": "",
            }
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SUPPORT_AUTH", "digest"),
        ("SUPPORT_PAGINATION", "pages"),
        ("SUPPORT_SINCE_FORMAT", "unix"),
        ("SUPPORT_COMMENTS_NESTED_FILTER", "Comment"),
        ("SUPPORT_TICKETS_PARAMS", "status"),
    ],
    ids=["auth", "pagination", "since-format", "nested-filter", "params"],
)
def test_a_malformed_mechanism_setting_is_refused_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
