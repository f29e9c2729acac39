"""Presets: the mechanisms of real desks, so that a user sets the vendor, the URL and the keys.

`SUPPORT_VENDOR` picks one; every field it fills is also a setting of its own, which
overrides the preset (see settings.py), for desks we do not preset. The citations behind
each value are in the preset's module and in docs/vendors.md.
"""

from support_assets.source.contract import ApiNames
from support_assets.source.vendors import freshdesk, generic, helpscout, zendesk

PRESETS: dict[str, ApiNames] = {
    "generic": generic.PRESET,
    "zendesk": zendesk.PRESET,
    "freshdesk": freshdesk.PRESET,
    "helpscout": helpscout.PRESET,
}


def preset(vendor: str) -> ApiNames:
    """The preset of `vendor`; a ValueError naming the choices for any other name."""
    try:
        return PRESETS[vendor]
    except KeyError:
        raise ValueError(f"{vendor!r} is not a preset: use one of {', '.join(PRESETS)}") from None
