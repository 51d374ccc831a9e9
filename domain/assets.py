"""Asset limits (财产状况): what a household may own and still be covered.

One rule for the service (township review, county approval) and the seed. Limits are
per kind of asset, on the total the household declares of that kind; kinds without
a limit (land, livestock: the means of farming) are not counted. A county may set
its own limits over the defaults (DIBAO_ASSET_LIMITS, DIBAO_COUNTY_ASSET_LIMITS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from domain.enums import AssetKind
from domain.errors import Conflict, InvalidInput

# yuan, on the household's total of each kind (documented in the README)
DEFAULT_ASSET_LIMITS: Final[Mapping[AssetKind, Decimal]] = {
    AssetKind.DEPOSIT: Decimal("20000.00"),
    AssetKind.VEHICLE: Decimal("30000.00"),
    AssetKind.HOUSE: Decimal("500000.00"),
}


@dataclass(frozen=True, slots=True)
class AssetLimits:
    defaults: Mapping[AssetKind, Decimal] = field(
        default_factory=lambda: dict(DEFAULT_ASSET_LIMITS)
    )
    counties: Mapping[str, Mapping[AssetKind, Decimal]] = field(default_factory=dict)

    def for_county(self, county: str) -> dict[AssetKind, Decimal]:
        return {**self.defaults, **self.counties.get(county, {})}


def kinds_over_limit(
    assets: Iterable[tuple[str, Decimal]], limits: Mapping[AssetKind, Decimal]
) -> list[AssetKind]:
    """The kinds whose declared total is above the limit, in a stable order."""
    totals: dict[AssetKind, Decimal] = {}
    for kind, value in assets:
        if kind in limits:  # a StrEnum key matches its stored string
            key = AssetKind(kind)
            totals[key] = totals.get(key, Decimal(0)) + value
    return sorted(k for k, total in totals.items() if total > limits[k])


def check_assets(
    assets: Iterable[tuple[str, Decimal]], limits: Mapping[AssetKind, Decimal]
) -> None:
    """A CONFLICT naming the kinds over the limit; never the amounts (they are personal)."""
    over = kinds_over_limit(assets, limits)
    if over:
        kinds = ", ".join(k.value for k in over)
        raise Conflict(
            f"assets: {kinds} above the county's limit (财产超过规定标准); cannot be approved",
            field="assets",
        )


def parse_limits(text: str, *, name: str) -> dict[AssetKind, Decimal]:
    """`DEPOSIT=20000,VEHICLE=30000`: yuan per kind."""
    limits: dict[AssetKind, Decimal] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, _, amount = part.partition("=")
        if kind.strip() not in {k.value for k in AssetKind}:
            raise InvalidInput(f"{name}: unknown asset kind {kind.strip()!r}", field=name)
        try:
            value = Decimal(amount.strip())
        except ArithmeticError:
            raise InvalidInput(f"{name}: {amount.strip()!r} is not an amount", field=name) from None
        if not value.is_finite() or value < 0:
            raise InvalidInput(f"{name}: {amount.strip()!r} is not an amount", field=name)
        limits[AssetKind(kind.strip())] = value.quantize(Decimal("0.01"))
    return limits


def parse_county_limits(text: str, *, name: str) -> dict[str, dict[AssetKind, Decimal]]:
    """`110105:DEPOSIT=50000,VEHICLE=0;220183:HOUSE=300000`: a county's own limits."""
    counties: dict[str, dict[AssetKind, Decimal]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        county, _, limits = part.partition(":")
        county = county.strip()
        if not (len(county) == 6 and county.isascii() and county.isdigit()):
            raise InvalidInput(f"{name}: {county!r} is not a county code", field=name)
        counties[county] = parse_limits(limits, name=name)
    return counties
