"""Marketplace facts that several layers share: currency, time zone, id, and Amazon's hard limits.

Source: Amazon Ads API limits page (SP keyword/target bid and daily budget per marketplace) and the
Profiles contract (country, currency, time zone). The engine clamps to these limits, the sandbox
rejects values outside them exactly as Amazon does (``BID_OUT_OF_MARKET_PLACE_RANGE``), so both must
read them from here. Bids are rounded to ``step`` (one currency minor unit; JPY and INR use whole units).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["MARKETPLACES", "Marketplace", "format_money", "marketplace_for", "round_money"]


@dataclass(frozen=True)
class Marketplace:
    """One Amazon marketplace as the Ads API sees it."""

    country_code: str
    marketplace_id: str
    currency_code: str
    timezone: str
    region: str
    min_bid: Decimal
    max_bid: Decimal
    min_budget: Decimal
    max_budget: Decimal
    step: Decimal = Decimal("0.01")


def _m(
    cc: str,
    mid: str,
    cur: str,
    tz: str,
    region: str,
    bid: tuple[str, str],
    budget: tuple[str, str],
    step: str = "0.01",
) -> Marketplace:
    return Marketplace(
        cc,
        mid,
        cur,
        tz,
        region,
        Decimal(bid[0]),
        Decimal(bid[1]),
        Decimal(budget[0]),
        Decimal(budget[1]),
        Decimal(step),
    )


_LA = "America/Los_Angeles"
_PARIS = "Europe/Paris"

MARKETPLACES: dict[str, Marketplace] = {
    m.country_code: m
    for m in (
        _m("US", "ATVPDKIKX0DER", "USD", _LA, "NA", ("0.02", "1000"), ("1", "1000000")),
        _m("CA", "A2EUQ1WTGCTBG2", "CAD", _LA, "NA", ("0.02", "1000"), ("1", "1000000")),
        _m("MX", "A1AM78C64UM0Y8", "MXN", _LA, "NA", ("0.1", "20000"), ("1", "21000000")),
        _m(
            "BR",
            "A2Q3Y263D00KWC",
            "BRL",
            "America/Sao_Paulo",
            "NA",
            ("0.07", "3700"),
            ("1.32", "5300000"),
        ),
        _m(
            "UK", "A1F83G8C2ARO7P", "GBP", "Europe/London", "EU", ("0.02", "1000"), ("1", "1000000")
        ),
        _m("DE", "A1PA6795UKMFR9", "EUR", _PARIS, "EU", ("0.02", "1000"), ("1", "1000000")),
        _m("FR", "A13V1IB3VIYZZH", "EUR", _PARIS, "EU", ("0.02", "1000"), ("1", "1000000")),
        _m("IT", "APJ6JRA9NG5V4", "EUR", _PARIS, "EU", ("0.02", "1000"), ("1", "1000000")),
        _m("ES", "A1RKKUPIHCS9HS", "EUR", _PARIS, "EU", ("0.02", "1000"), ("1", "1000000")),
        _m(
            "NL",
            "A1805IZSGTT6HS",
            "EUR",
            "Europe/Amsterdam",
            "EU",
            ("0.02", "1000"),
            ("1", "1000000"),
        ),
        _m(
            "BE",
            "AMEN7PMS3EDWL",
            "EUR",
            "Europe/Brussels",
            "EU",
            ("0.02", "1000"),
            ("1", "1000000"),
        ),
        _m(
            "IE", "A28R8C7NBKEWEA", "EUR", "Europe/Dublin", "EU", ("0.02", "1000"), ("1", "1000000")
        ),
        _m(
            "SE",
            "A2NODRKZP88ZB9",
            "SEK",
            "Europe/Stockholm",
            "EU",
            ("0.18", "9300"),
            ("9", "9300000"),
        ),
        _m(
            "PL", "A1C3SOZRARQ6R3", "PLN", "Europe/Warsaw", "EU", ("0.04", "2000"), ("2", "2000000")
        ),
        _m(
            "TR",
            "A33AVAJ2PDY3EV",
            "TRY",
            "Europe/Istanbul",
            "EU",
            ("0.05", "2500"),
            ("2", "2500000"),
        ),
        _m("AE", "A2VIGQ35RCS4UG", "AED", "Asia/Dubai", "EU", ("0.24", "184"), ("4", "3700000")),
        _m("SA", "A17E79C6D8DWNP", "SAR", "Asia/Riyadh", "EU", ("0.10", "3670"), ("4", "3700000")),
        # The docs' EG maximum bid (5.50) looks like a typo; we keep it, as Amazon enforces what it documents.
        _m("EG", "ARBP9OOSHTCHU", "EGP", "Africa/Cairo", "EU", ("0.15", "5.50"), ("7", "7400000")),
        _m(
            "IN",
            "A21TJRUUN4KGV",
            "INR",
            "Asia/Kolkata",
            "EU",
            ("1", "5000"),
            ("50", "21000000"),
            "1",
        ),
        _m(
            "ZA",
            "AE08WJ6YKNBMC",
            "ZAR",
            "Africa/Johannesburg",
            "EU",
            ("1", "7000"),
            ("20", "7000000"),
        ),
        _m(
            "JP",
            "A1VC38T7YXB528",
            "JPY",
            "Asia/Tokyo",
            "FE",
            ("2", "100000"),
            ("100", "21000000"),
            "1",
        ),
        _m(
            "AU",
            "A39IBJ37TRP1C6",
            "AUD",
            "Australia/Sydney",
            "FE",
            ("0.02", "1410"),
            ("1.4", "1500000"),
        ),
        _m(
            "SG",
            "A19VAU5U5O7RUS",
            "SGD",
            "Asia/Singapore",
            "FE",
            ("0.02", "1100"),
            ("1.39", "1300000"),
        ),
    )
}


def marketplace_for(country_code: str) -> Marketplace:
    """The marketplace of a profile's country code (Amazon spells the UK ``UK``, not ``GB``)."""
    try:
        return MARKETPLACES[country_code.upper()]
    except KeyError:
        known = ", ".join(sorted(MARKETPLACES))
        raise KeyError(f"unknown country code {country_code!r}; known: {known}") from None


def round_money(value: Decimal | float, step: Decimal = Decimal("0.01")) -> Decimal:
    """Round an amount to the marketplace step, half to even, as a ``Decimal``."""
    amount = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return (amount / step).quantize(Decimal("1"), rounding=ROUND_HALF_EVEN) * step


# How people write each currency in a report; one without a symbol here is shown by its code.
_SYMBOLS = {
    "USD": "$", "CAD": "CA$", "MXN": "MX$", "BRL": "R$", "GBP": "£", "EUR": "€", "JPY": "¥",
    "INR": "₹", "AUD": "A$", "SGD": "S$",
}  # fmt: skip


def format_money(amount: Decimal | float, currency: str, *, signed: bool = False) -> str:
    """An amount as people read it in ``currency``: ``$1,234.50``, ``¥1,200``, ``SEK 12.00``;
    ``signed`` puts ``+`` before a positive amount (a change). Decimals follow the currency's
    marketplace step (none for JPY and INR), thousands are separated by commas."""
    steps = [m.step for m in MARKETPLACES.values() if m.currency_code == currency.upper()]
    places = max(0, -int(steps[0].as_tuple().exponent)) if steps else 2
    value = amount if isinstance(amount, Decimal) else Decimal(repr(float(amount)))
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    symbol = _SYMBOLS.get(currency.upper())
    digits = f"{abs(value):,.{places}f}"
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{currency.upper()} {digits}"
