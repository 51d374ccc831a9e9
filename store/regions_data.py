"""A small but real-looking region tree, shipped as constant data.

Provinces, cities and counties carry their real GB/T 2260 codes and names.
Below the county the statistical division codes follow the national scheme
(township 3 digits: 001–099 街道, 100–199 镇; village 3 digits: 001–199
社区居委会, 200–399 村委会) with plausible names. Every township holds both
urban communities and rural villages, so both tracks (双轨) exist in every
county. Codes are stored by their significant digits (2/4/6/9/12), which is
what region scopes are prefixes of.

Monthly standards are per county and track, in yuan (Decimal, two places).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import Final, NamedTuple

from domain.enums import Area

__all__ = [
    "COUNTIES",
    "REGIONS",
    "STANDARDS",
    "VILLAGES",
    "RegionRow",
    "area_of_village",
]


class RegionRow(NamedTuple):
    code: str
    name: str
    level: str  # PROVINCE, CITY, COUNTY, TOWNSHIP or VILLAGE
    parent_code: str | None


_PROVINCES: Final = (("22", "吉林省"), ("52", "贵州省"))
_CITIES: Final = (
    ("2201", "长春市"),
    ("2202", "吉林市"),
    ("5201", "贵阳市"),
    ("5203", "遵义市"),
)
# county code, county name, (street, town, town) names of its three townships
_COUNTIES: Final = (
    ("220102", "南关区", ("南岭街道", "新湖镇", "幸福镇")),
    ("220182", "榆树市", ("华昌街道", "五棵树镇", "弓棚子镇")),
    ("220183", "德惠市", ("胜利街道", "大房身镇", "岔路口镇")),
    ("220202", "昌邑区", ("兴华街道", "孤店子镇", "桦皮厂镇")),
    ("220281", "蛟河市", ("民主街道", "新站镇", "天岗镇")),
    ("520102", "南明区", ("遵义路街道", "后巢镇", "永乐镇")),
    ("520121", "开阳县", ("云开街道", "双流镇", "金中镇")),
    ("520302", "红花岗区", ("老城街道", "巷口镇", "深溪镇")),
    ("520323", "绥阳县", ("洋川街道", "郑场镇", "旺草镇")),
)
_TOWNSHIP_PARTS: Final = ("001", "100", "101")
_URBAN_VILLAGE_PARTS: Final = ("001", "002")
_RURAL_VILLAGE_PARTS: Final = ("201", "202")

# Stems of community and village names, common all over northern and south-western China.
_STEMS: Final = (
    "新华", "和平", "红旗", "胜利", "东风", "永安", "长兴", "太平",
    "福兴", "兴隆", "永丰", "富民", "双河", "青山", "石桥", "柳树",
    "白杨", "金沙", "龙泉", "三合", "团结", "光明", "前进", "民主",
    "建设", "幸福", "朝阳", "向阳", "红星", "新民", "丰收", "长岭",
    "东升", "西山", "南山", "北岗", "桥头", "河口", "沙坝", "水口",
    "凉水", "大坪", "小河", "高峰", "黄土", "马鞍", "杉木", "茶园",
    "万寿", "花园", "迎春", "复兴", "宏伟", "平安", "振兴", "长青",
)  # fmt: skip

URBAN_MAX_VILLAGE_PART: Final = 199


def area_of_village(code: str) -> Area:
    """The track of a 12-digit village code: 001–199 are urban communities, the rest rural."""
    if len(code) != 12 or not (code.isascii() and code.isdigit()):
        raise ValueError("village code must be 12 digits")
    return Area.URBAN if 1 <= int(code[9:]) <= URBAN_MAX_VILLAGE_PART else Area.RURAL


def _build() -> tuple[RegionRow, ...]:
    rows: list[RegionRow] = [RegionRow(code, name, "PROVINCE", None) for code, name in _PROVINCES]
    rows += [RegionRow(code, name, "CITY", code[:2]) for code, name in _CITIES]
    stem = 0
    for county, county_name, townships in _COUNTIES:
        rows.append(RegionRow(county, county_name, "COUNTY", county[:4]))
        for part, township_name in zip(_TOWNSHIP_PARTS, townships, strict=True):
            township = county + part
            rows.append(RegionRow(township, township_name, "TOWNSHIP", county))
            for village_part in _URBAN_VILLAGE_PARTS + _RURAL_VILLAGE_PARTS:
                code = township + village_part
                suffix = "社区居委会" if area_of_village(code) is Area.URBAN else "村委会"
                rows.append(
                    RegionRow(code, _STEMS[stem % len(_STEMS)] + suffix, "VILLAGE", township)
                )
                stem += 1
    return tuple(rows)


REGIONS: Final[tuple[RegionRow, ...]] = _build()
COUNTIES: Final[tuple[str, ...]] = tuple(r.code for r in REGIONS if r.level == "COUNTY")
VILLAGES: Final[tuple[str, ...]] = tuple(r.code for r in REGIONS if r.level == "VILLAGE")

_YUAN: Final = {
    # county: (urban, rural) monthly standard
    "220102": ("820.00", "650.00"),
    "220182": ("700.00", "560.00"),
    "220183": ("710.00", "565.00"),
    "220202": ("760.00", "600.00"),
    "220281": ("680.00", "520.00"),
    "520102": ("880.00", "690.00"),
    "520121": ("760.00", "600.00"),
    "520302": ("790.00", "625.00"),
    "520323": ("705.00", "545.00"),
}

STANDARDS: Final[Mapping[tuple[str, Area], Decimal]] = MappingProxyType(
    {
        (county, area): Decimal(amount)
        for county, pair in _YUAN.items()
        for area, amount in zip((Area.URBAN, Area.RURAL), pair, strict=True)
    }
)
