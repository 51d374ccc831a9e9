"""A national region tree at real proportions, generated and deterministic.

Provinces (31) and prefecture-level cities carry their real GB/T 2260 codes
and names. Below the city the tree is generated from the real proportions:
each province has about its real number of county-level divisions (2,841 in
all), spread over its cities and coded as the national scheme codes them
(02–20 districts, 21–80 counties, 81–99 county-level cities); each county has
6–30 townships (about 39,000 in all; 001–099 街道, 100–199 镇, 200–299 乡) and
each township 5–40 villages (001–199 社区居委会, 200–399 村委会). Streets hold
communities only, rural townships villages only, towns both.

Every part is drawn from a PRNG seeded by its own code, so one county's
subtree is built without building the nation's, and the same code always
names the same places. Dibao caseloads (`households`) are drawn per township:
a few hundred to a few thousand at national size (about 20M households).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Final

from domain.enums import Area
from store.regions_data import RegionRow, area_of_village

__all__ = [
    "NationalCounty",
    "NationalPlan",
    "counties_in_fill_order",
    "county_subtree",
    "national_head",
    "national_plan",
]

# province code, name, (real) county-level divisions, real city codes with names
_PROVINCES: Final[tuple[tuple[str, str, int, str], ...]] = (
    ("11", "北京市", 16, "01市辖区"),
    ("12", "天津市", 16, "01市辖区"),
    ("13", "河北省", 167, "01石家庄市 02唐山市 03秦皇岛市 04邯郸市 05邢台市 06保定市 07张家口市 08承德市 09沧州市 10廊坊市 11衡水市"),
    ("14", "山西省", 117, "01太原市 02大同市 03阳泉市 04长治市 05晋城市 06朔州市 07晋中市 08运城市 09忻州市 10临汾市 11吕梁市"),
    ("15", "内蒙古自治区", 103, "01呼和浩特市 02包头市 03乌海市 04赤峰市 05通辽市 06鄂尔多斯市 07呼伦贝尔市 08巴彦淖尔市 09乌兰察布市 22兴安盟 25锡林郭勒盟 29阿拉善盟"),
    ("21", "辽宁省", 100, "01沈阳市 02大连市 03鞍山市 04抚顺市 05本溪市 06丹东市 07锦州市 08营口市 09阜新市 10辽阳市 11盘锦市 12铁岭市 13朝阳市 14葫芦岛市"),
    ("22", "吉林省", 60, "01长春市 02吉林市 03四平市 04辽源市 05通化市 06白山市 07松原市 08白城市 24延边朝鲜族自治州"),
    ("23", "黑龙江省", 121, "01哈尔滨市 02齐齐哈尔市 03鸡西市 04鹤岗市 05双鸭山市 06大庆市 07伊春市 08佳木斯市 09七台河市 10牡丹江市 11黑河市 12绥化市 27大兴安岭地区"),
    ("31", "上海市", 16, "01市辖区"),
    ("32", "江苏省", 95, "01南京市 02无锡市 03徐州市 04常州市 05苏州市 06南通市 07连云港市 08淮安市 09盐城市 10扬州市 11镇江市 12泰州市 13宿迁市"),
    ("33", "浙江省", 90, "01杭州市 02宁波市 03温州市 04嘉兴市 05湖州市 06绍兴市 07金华市 08衢州市 09舟山市 10台州市 11丽水市"),
    ("34", "安徽省", 104, "01合肥市 02芜湖市 03蚌埠市 04淮南市 05马鞍山市 06淮北市 07铜陵市 08安庆市 10黄山市 11滁州市 12阜阳市 13宿州市 15六安市 16亳州市 17池州市 18宣城市"),
    ("35", "福建省", 84, "01福州市 02厦门市 03莆田市 04三明市 05泉州市 06漳州市 07南平市 08龙岩市 09宁德市"),
    ("36", "江西省", 100, "01南昌市 02景德镇市 03萍乡市 04九江市 05新余市 06鹰潭市 07赣州市 08吉安市 09宜春市 10抚州市 11上饶市"),
    ("37", "山东省", 136, "01济南市 02青岛市 03淄博市 04枣庄市 05东营市 06烟台市 07潍坊市 08济宁市 09泰安市 10威海市 11日照市 13临沂市 14德州市 15聊城市 16滨州市 17菏泽市"),
    ("41", "河南省", 157, "01郑州市 02开封市 03洛阳市 04平顶山市 05安阳市 06鹤壁市 07新乡市 08焦作市 09濮阳市 10许昌市 11漯河市 12三门峡市 13南阳市 14商丘市 15信阳市 16周口市 17驻马店市"),
    ("42", "湖北省", 103, "01武汉市 02黄石市 03十堰市 05宜昌市 06襄阳市 07鄂州市 08荆门市 09孝感市 10荆州市 11黄冈市 12咸宁市 13随州市 28恩施土家族苗族自治州"),
    ("43", "湖南省", 122, "01长沙市 02株洲市 03湘潭市 04衡阳市 05邵阳市 06岳阳市 07常德市 08张家界市 09益阳市 10郴州市 11永州市 12怀化市 13娄底市 31湘西土家族苗族自治州"),
    ("44", "广东省", 122, "01广州市 02韶关市 03深圳市 04珠海市 05汕头市 06佛山市 07江门市 08湛江市 09茂名市 12肇庆市 13惠州市 14梅州市 15汕尾市 16河源市 17阳江市 18清远市 19东莞市 20中山市 51潮州市 52揭阳市 53云浮市"),
    ("45", "广西壮族自治区", 111, "01南宁市 02柳州市 03桂林市 04梧州市 05北海市 06防城港市 07钦州市 08贵港市 09玉林市 10百色市 11贺州市 12河池市 13来宾市 14崇左市"),
    ("46", "海南省", 25, "01海口市 02三亚市 03三沙市 04儋州市"),
    ("50", "重庆市", 38, "01市辖区 02县"),
    ("51", "四川省", 183, "01成都市 03自贡市 04攀枝花市 05泸州市 06德阳市 07绵阳市 08广元市 09遂宁市 10内江市 11乐山市 13南充市 14眉山市 15宜宾市 16广安市 17达州市 18雅安市 19巴中市 20资阳市 32阿坝藏族羌族自治州 33甘孜藏族自治州 34凉山彝族自治州"),
    ("52", "贵州省", 88, "01贵阳市 02六盘水市 03遵义市 04安顺市 05毕节市 06铜仁市 23黔西南布依族苗族自治州 26黔东南苗族侗族自治州 27黔南布依族苗族自治州"),
    ("53", "云南省", 129, "01昆明市 03曲靖市 04玉溪市 05保山市 06昭通市 07丽江市 08普洱市 09临沧市 23楚雄彝族自治州 25红河哈尼族彝族自治州 26文山壮族苗族自治州 28西双版纳傣族自治州 29大理白族自治州 31德宏傣族景颇族自治州 33怒江傈僳族自治州 34迪庆藏族自治州"),
    ("54", "西藏自治区", 74, "01拉萨市 02日喀则市 03昌都市 04林芝市 05山南市 06那曲市 25阿里地区"),
    ("61", "陕西省", 107, "01西安市 02铜川市 03宝鸡市 04咸阳市 05渭南市 06延安市 07汉中市 08榆林市 09安康市 10商洛市"),
    ("62", "甘肃省", 86, "01兰州市 02嘉峪关市 03金昌市 04白银市 05天水市 06武威市 07张掖市 08平凉市 09酒泉市 10庆阳市 11定西市 12陇南市 29临夏回族自治州 30甘南藏族自治州"),
    ("63", "青海省", 44, "01西宁市 02海东市 22海北藏族自治州 23黄南藏族自治州 25海南藏族自治州 26果洛藏族自治州 27玉树藏族自治州 28海西蒙古族藏族自治州"),
    ("64", "宁夏回族自治区", 22, "01银川市 02石嘴山市 03吴忠市 04固原市 05中卫市"),
    ("65", "新疆维吾尔自治区", 106, "01乌鲁木齐市 02克拉玛依市 04吐鲁番市 05哈密市 23昌吉回族自治州 27博尔塔拉蒙古自治州 28巴音郭楞蒙古自治州 29阿克苏地区 30克孜勒苏柯尔克孜自治州 31喀什地区 32和田地区 40伊犁哈萨克自治州 42塔城地区 43阿勒泰地区"),
)  # fmt: skip

# Stems of place names, common all over China.
_STEMS: Final = (
    "新华", "和平", "红旗", "胜利", "东风", "永安", "长兴", "太平", "福兴", "兴隆",
    "永丰", "富民", "双河", "青山", "石桥", "柳树", "白杨", "金沙", "龙泉", "三合",
    "团结", "光明", "前进", "民主", "建设", "幸福", "朝阳", "向阳", "红星", "新民",
    "丰收", "长岭", "东升", "西山", "南山", "北岗", "桥头", "河口", "沙坝", "水口",
    "凉水", "大坪", "小河", "高峰", "黄土", "马鞍", "杉木", "茶园", "万寿", "花园",
    "迎春", "复兴", "宏伟", "平安", "振兴", "长青", "清河", "安乐", "石门", "大兴",
    "中和", "仁和", "永宁", "新城", "古城", "官庄", "李家", "王家", "张家", "刘家",
)  # fmt: skip

# mean households per township at national size: about 20M over about 39,000
_TOWNSHIP_MEDIAN: Final = 380
_TOWNSHIP_MIN: Final = 80
_TOWNSHIP_MAX: Final = 4_000
_FILL_ORDER_SEED: Final = "dibao-national-fill-order"


@dataclass(frozen=True, slots=True)
class NationalCounty:
    code: str  # 6 digits
    name: str
    kind: str  # DISTRICT, COUNTY or CITY (county-level city)


@dataclass(frozen=True, slots=True)
class Township:
    code: str  # 9 digits
    households: int  # its caseload at national size
    villages: tuple[str, ...]  # 12-digit codes


def _stem(rng: random.Random) -> str:
    return rng.choice(_STEMS)


@cache
def _cities() -> tuple[tuple[str, str, int], ...]:
    """(city code, name, county-level divisions): the province's counties spread over
    its cities, evenly with a jitter drawn from the city's code."""
    found = []
    for _province, _name, counties, cities in _PROVINCES:
        listed = [(c[:2], c[2:]) for c in cities.split()]
        base, extra = divmod(counties, len(listed))
        for i, (part, name) in enumerate(listed):
            found.append((_province + part, name, base + (1 if i < extra else 0)))
    return tuple(found)


@cache
def _counties() -> tuple[NationalCounty, ...]:
    found = []
    for city, _name, n in _cities():
        rng = random.Random(city)
        # about a third districts, half counties, the rest county-level cities
        districts = max(1, round(n * rng.uniform(0.25, 0.4)))
        cities = min(n - districts, round(n * rng.uniform(0.1, 0.2)))
        counties = n - districts - cities
        used: set[str] = set()
        plan = (
            [("DISTRICT", 2 + i, "区") for i in range(min(districts, 19))]
            + [("COUNTY", 21 + i, "县") for i in range(min(counties, 60))]
            + [("CITY", 81 + i, "市") for i in range(min(cities, 19))]
        )
        for kind, number, suffix in plan:
            code = f"{city}{number:02d}"
            stem = _stem(rng)
            while stem in used:
                stem = _stem(rng) + _stem(rng)[0]
            used.add(stem)
            found.append(NationalCounty(code, stem + suffix, kind))
    return tuple(found)


def national_head() -> list[RegionRow]:
    """Provinces and cities: real codes and names."""
    rows = [RegionRow(code, name, "PROVINCE", None) for code, name, _n, _c in _PROVINCES]
    rows += [RegionRow(code, name, "CITY", code[:2]) for code, name, _n in _cities()]
    return rows


def counties_in_fill_order() -> Iterator[NationalCounty]:
    """Every county of the nation in a fixed shuffled order: a seed of N households fills
    whole counties in this order, so any N spreads over many provinces."""
    order = list(_counties())
    random.Random(_FILL_ORDER_SEED).shuffle(order)
    return iter(order)


def _caseload(rng: random.Random) -> int:
    return int(
        min(_TOWNSHIP_MAX, max(_TOWNSHIP_MIN, rng.lognormvariate(0, 0.75) * _TOWNSHIP_MEDIAN))
    )


def county_subtree(county: NationalCounty) -> tuple[list[RegionRow], list[Township]]:
    """The county's own row, its townships and villages, and each township's caseload."""
    rng = random.Random(county.code)
    rows = [RegionRow(county.code, county.name, "COUNTY", county.code[:4])]
    townships: list[Township] = []
    n = max(6, min(30, round(rng.lognormvariate(0, 0.35) * 13)))
    streets = round(n * (0.55 if county.kind == "DISTRICT" else 0.15))
    towns = round((n - streets) * (0.3 if county.kind == "DISTRICT" else 0.7))
    rural = n - streets - towns
    parts = (
        [(i + 1, "街道") for i in range(streets)]
        + [(100 + i, "镇") for i in range(towns)]
        + [(200 + i, "乡") for i in range(rural)]
    )
    for number, suffix in parts:
        township = f"{county.code}{number:03d}"
        rows.append(RegionRow(township, _stem(rng) + suffix, "TOWNSHIP", county.code))
        size = max(5, min(40, round(rng.lognormvariate(0, 0.4) * 14)))
        if suffix == "街道":
            urban, villages = size, 0
        elif suffix == "乡":
            urban, villages = 0, size
        else:
            urban = max(1, round(size * 0.2))
            villages = size - urban
        codes = [f"{township}{i + 1:03d}" for i in range(min(urban, 199))]
        codes += [f"{township}{200 + i:03d}" for i in range(min(villages, 199))]
        for code in codes:
            suffix_v = "社区居委会" if area_of_village(code) is Area.URBAN else "村委会"
            rows.append(RegionRow(code, _stem(rng) + suffix_v, "VILLAGE", township))
        # street communities carry about half a rural township's caseload: most dibao
        # households are rural (about four in five nationally)
        caseload = _caseload(rng) // (2 if suffix == "街道" else 1)
        townships.append(Township(township, max(_TOWNSHIP_MIN, caseload), tuple(codes)))
    return rows, townships


def county_standards(county: NationalCounty) -> dict[Area, Decimal]:
    """The county's monthly standard per track, in yuan: urban 600–1,200, rural about
    three quarters of it, both in steps of five yuan (a county sets its own)."""
    rng = random.Random("standard:" + county.code)
    urban = 600 + 5 * rng.randint(0, 120)
    rural = 5 * round(urban * rng.uniform(0.68, 0.85) / 5)
    return {Area.URBAN: Decimal(f"{urban}.00"), Area.RURAL: Decimal(f"{rural}.00")}


@dataclass(frozen=True, slots=True)
class NationalPlan:
    """Where N households go: whole counties in fill order, each township up to its
    caseload (the last county only as far as N reaches)."""

    rows: list[RegionRow]  # provinces, cities and the subtrees of the counties used
    standards: dict[tuple[str, Area], Decimal]
    townships: list[tuple[tuple[str, ...], int]]  # villages, households placed there


def national_plan(households: int) -> NationalPlan:
    rows = national_head()
    standards: dict[tuple[str, Area], Decimal] = {}
    townships: list[tuple[tuple[str, ...], int]] = []
    left = households
    for county in counties_in_fill_order():
        if left <= 0:
            break
        subtree, found = county_subtree(county)
        rows += subtree
        for area, amount in county_standards(county).items():
            standards[(county.code, area)] = amount
        # townships in a shuffled order, so that a county filled part way has streets,
        # towns and rural townships alike (both tracks)
        random.Random("fill:" + county.code).shuffle(found)
        for township in found:
            if left <= 0:
                break
            placed = min(left, township.households)
            townships.append((township.villages, placed))
            left -= placed
    return NationalPlan(rows, standards, townships)
