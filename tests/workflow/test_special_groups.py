"""Special groups and the edge of the line (民发〔2021〕57号), through GraphQL.

The kind of a disability is read where its grade is and nowhere else; single-person
cover (单人保) is accepted only for the members and households 57号 names, and pays
for the covered members alone; refused or leaving households under the edge line
are listed as edge families, in the caller's region only; an application over an
asset limit is not approved, and the refusal names the kind, never the amount.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from domain.assets import DEFAULT_ASSET_LIMITS, AssetLimits, check_assets, kinds_over_limit
from domain.benefit import MARGINAL_MULTIPLE, Earner, granted_benefit, is_marginal
from domain.enums import AssetKind, HouseholdStatus
from domain.errors import Conflict
from gateway.config import Settings, parse_asset_limits, parse_multiple
from gateway.runtime import Runtime
from store import models
from store.seed import seed
from tests.audit.test_audit_log import entries
from tests.conftest import Api
from tests.helpers import (
    CASEWORKER_TOWNSHIP,
    OTHER_COUNTY_VILLAGE,
    application,
    issue_token,
    load_regions,
    member,
    nodes,
)
from tests.workflow.test_changes import CHANGE, member_ids
from tests.workflow.test_rechecks import check
from tests.workflow.test_review_chain import (
    ACCEPT,
    ACTIVATE,
    APPROVE,
    INVESTIGATE,
    NOTICE,
    SUBMIT,
    TOWNSHIP,
    URBAN_STANDARD,
    code,
    later,
    ok,
)

# the urban edge line of county 220183
EDGE = (URBAN_STANDARD * MARGINAL_MULTIPLE).quantize(Decimal("0.01"))
VISIT = {"visitedOn": "2026-11-20", "visitors": ["张强", "刘敏"], "findings": "入户核实"}
HOUSEHOLD = (
    "query($a: String!) { household(archiveNo: $a) { archiveNo singlePersonCover marginal "
    "monthlyBenefit members { relation disabilityGrade disabilityKind covered } "
    "assets { kind value } } }"
)
# no nested list but members: the compiled read path answers it (gateway/compiled.py)
COMPILED = (
    "query($a: String!) { household(archiveNo: $a) { archiveNo singlePersonCover marginal "
    "members { relation disabilityGrade disabilityKind covered } } }"
)
KIND_ONLY = "query($a: String!) { household(archiveNo: $a) { members { disabilityKind } } }"
PAGE = (
    "query($m: Boolean) { households(marginal: $m, first: 100) { totalCount "
    "edges { node { archiveNo marginal singlePersonCover "
    "members { disabilityGrade disabilityKind covered } } } } }"
)
LISTED = (
    "{ households(first: 100) { edges { node { archiveNo marginal singlePersonCover "
    "members { disabilityGrade disabilityKind covered } } } } }"
)
REJECT = (
    "mutation($a: String!) { rejectApplication(archiveNo: $a, reasons: [INCOME_ABOVE_LINE], "
    'text: "收入超标") { status marginal } }'
)


def head(income: str = "0.00", **extra: Any) -> dict[str, Any]:
    return member("HEAD", income=income, **extra)


def spouse(income: str, **extra: Any) -> dict[str, Any]:
    return member(
        "SPOUSE", name="李秀英", birth=dt.date(1972, 3, 9), income=income, phone=None, **extra
    )


async def submit(api: Api, worker: str, members: list[dict[str, Any]], **extra: Any) -> Any:
    return await api.gql(worker, SUBMIT, {"input": application(members=members, **extra)})


async def submitted(api: Api, worker: str, members: list[dict[str, Any]], **extra: Any) -> str:
    return str(ok(await submit(api, worker, members, **extra), "submitApplication")["archiveNo"])


async def to_notice(api: Api, worker: str, archive: str) -> None:
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    ok(await api.gql(worker, INVESTIGATE, {"a": archive, "i": VISIT}), "recordInvestigation")
    ok(await api.gql(worker, TOWNSHIP, {"a": archive}), "reviewInTownship")
    ok(await api.gql(worker, NOTICE, {"a": archive}), "publishNotice")


async def staff(runtime: Runtime) -> tuple[str, str]:
    await load_regions(runtime)
    worker = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP)
    reviewer = await issue_token(runtime, "county_reviewer", "220183")
    return worker, reviewer


# --- the kind of a disability ------------------------------------------------------------


async def test_a_new_standard_moves_the_edge_line(api: Api, runtime: Runtime) -> None:
    """A refused family just above the edge line becomes an edge family when the county
    raises its standard (and stops being one when it lowers it again)."""
    worker, reviewer = await staff(runtime)
    above = EDGE * 2 + Decimal("20.00")  # two members: per-capita 10.00 above the edge
    family = await refused(api, worker, reviewer, [head("0.00"), spouse(str(above))])
    assert family["marginal"] is False
    today = dt.datetime.now(dt.UTC).date()
    raised = str(URBAN_STANDARD + 10)  # the edge line rises by 15.00 per person
    set_body = await api.gql(reviewer, SET_STANDARD, {"amount": raised, "from": str(today)})
    assert "errors" not in set_body, set_body
    listed = (await api.gql(reviewer, PAGE, {"m": True}))["data"]["households"]
    assert [n["archiveNo"] for n in nodes(listed)] == [family["archive"]]
    later(runtime, 1)
    lowered = str(URBAN_STANDARD)
    tomorrow = str(today + dt.timedelta(days=1))
    set_body = await api.gql(reviewer, SET_STANDARD, {"amount": lowered, "from": tomorrow})
    assert "errors" not in set_body, set_body
    assert (await api.gql(reviewer, PAGE, {"m": True}))["data"]["households"]["totalCount"] == 0


@pytest.mark.both_paths
async def test_disability_kind_round_trip_on_both_read_paths(api: Api, runtime: Runtime) -> None:
    worker, _ = await staff(runtime)
    supervisor = await issue_token(runtime, "supervisor", "22")
    archive = await submitted(
        api,
        worker,
        [head(disabilityGrade=2, disabilityKind="VISUAL"), spouse("100.00")],
    )
    for token in (worker, supervisor):  # both read the grade in clear: the kind too
        got = (await api.gql(token, COMPILED, {"a": archive}))["data"]["household"]
        assert [(m["disabilityGrade"], m["disabilityKind"]) for m in got["members"]] == [
            (2, "VISUAL"),
            (None, None),
        ]
        assert [m["covered"] for m in got["members"]] == [False, False]
        assert got["singlePersonCover"] is False and got["marginal"] is False
    page = (await api.gql(worker, LISTED))["data"]["households"]
    [node] = [n for n in nodes(page) if n["archiveNo"] == archive]
    assert node["members"][0] == {
        "disabilityGrade": 2,
        "disabilityKind": "VISUAL",
        "covered": False,
    }


@pytest.mark.both_paths
async def test_disability_kind_is_denied_where_the_grade_is(api: Api, runtime: Runtime) -> None:
    worker, _ = await staff(runtime)
    archive = await submitted(api, worker, [head(disabilityGrade=1, disabilityKind="MENTAL")])
    finance = await issue_token(runtime, "finance_officer", "220183")
    partner = await issue_token(
        runtime, "partner", "22", fields=["Household.members", "Member.relation"]
    )
    for token in (finance, partner):
        body = await api.gql(token, KIND_ONLY, {"a": archive})
        assert body["data"] is None, body
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert "Member.disabilityKind" in body["errors"][0]["extensions"]["denied"]
        # the value itself never appears in a refusal
        assert "MENTAL" not in str(body)


async def test_a_kind_needs_a_grade(api: Api, runtime: Runtime) -> None:
    worker, _ = await staff(runtime)
    body = await submit(api, worker, [head(disabilityKind="HEARING")])
    assert code(body) == "BAD_USER_INPUT"
    assert "disabilityKind" in body["errors"][0]["message"]


# --- single-person cover (单人保) -----------------------------------------------------------


async def test_single_person_cover_pays_the_covered_member_only(api: Api, runtime: Runtime) -> None:
    worker, reviewer = await staff(runtime)
    # per-capita income between the line and the edge line: the whole household is
    # not eligible, the severely disabled head is, as a one-person household
    spouse_income = URBAN_STANDARD * 2 + 300  # per-capita: the line + 150, under the edge
    assert URBAN_STANDARD * 2 < spouse_income < EDGE * 2
    members = [
        head("0.00", disabilityGrade=2, disabilityKind="PHYSICAL", covered=True),
        spouse(str(spouse_income)),
    ]
    archive = await submitted(api, worker, members)
    await to_notice(api, worker, archive)
    later(runtime, 7)
    approved = ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    assert approved["status"] == "APPROVED"
    # the covered head alone: standard minus the head's own income (0)
    assert Decimal(approved["monthlyBenefit"]) == URBAN_STANDARD
    got = (await api.gql(reviewer, HOUSEHOLD, {"a": archive}))["data"]["household"]
    assert got["singlePersonCover"] is True
    assert [m["covered"] for m in got["members"]] == [True, False]
    # the same family without cover is above the line: not eligible
    plain = await submitted(
        api,
        worker,
        [head("0.00", disabilityGrade=2), spouse(str(spouse_income))],
    )
    await to_notice(api, worker, plain)
    later(runtime, 14)
    refused = await api.gql(reviewer, APPROVE, {"a": plain})
    assert code(refused) == "CONFLICT"


@pytest.mark.parametrize(
    ("extra", "accepted"),
    [
        ({"disabilityGrade": 1, "disabilityKind": "VISUAL"}, True),
        ({"disabilityGrade": 2}, True),
        ({"disabilityGrade": 3, "disabilityKind": "INTELLECTUAL"}, True),
        ({"disabilityGrade": 3, "disabilityKind": "MENTAL"}, True),
        ({"seriousIllness": True}, True),
        ({"disabilityGrade": 3, "disabilityKind": "PHYSICAL"}, False),
        ({"disabilityGrade": 4, "disabilityKind": "MENTAL"}, False),
        ({}, False),
    ],
)
async def test_single_person_cover_only_for_the_members_57_names(
    api: Api, runtime: Runtime, extra: dict[str, Any], accepted: bool
) -> None:
    worker, _ = await staff(runtime)
    members = [head("0.00", covered=True, **extra), spouse("1000.00")]
    body = await submit(api, worker, members)
    if accepted:
        assert ok(body, "submitApplication")["status"] == "SUBMITTED"
    else:
        assert code(body) == "BAD_USER_INPUT"
        assert "members[0].covered" in body["errors"][0]["message"]


async def test_single_person_cover_only_under_the_edge_line(api: Api, runtime: Runtime) -> None:
    worker, _ = await staff(runtime)
    reader = await issue_token(runtime, "county_reviewer", "220183")
    over = EDGE * 2  # per-capita income exactly the edge line: not under it
    body = await submit(
        api, worker, [head("0.00", seriousIllness=True, covered=True), spouse(str(over))]
    )
    assert code(body) == "BAD_USER_INPUT"
    message = body["errors"][0]["message"]
    assert "edge line" in message and str(over) not in message
    under = over - Decimal("0.01")
    ok(
        await submit(
            api, worker, [head("0.00", seriousIllness=True, covered=True), spouse(str(under))]
        ),
        "submitApplication",
    )
    # naming every member is not single-person cover
    both = [
        head("0.00", seriousIllness=True, covered=True),
        spouse("0.00", disabilityGrade=1, covered=True),
    ]
    assert code(await submit(api, worker, both)) == "BAD_USER_INPUT"
    # nothing of the refused ones was written
    page = (await api.gql(reader, PAGE, {}))["data"]["households"]
    assert page["totalCount"] == 1


SET_STANDARD = """mutation($amount: Decimal!, $from: Date!) {
  setStandard(countyCode: "220183", area: URBAN, monthlyAmount: $amount, effectiveFrom: $from) {
    recomputed
  }
}"""


# --- edge families (低保边缘家庭) -------------------------------------------------------------


async def refused(
    api: Api, worker: str, reviewer: str, members: list[dict[str, Any]], **extra: Any
) -> dict[str, Any]:
    archive = await submitted(api, worker, members, **extra)
    ok(await api.gql(worker, ACCEPT, {"a": archive}), "acceptApplication")
    done = ok(await api.gql(reviewer, REJECT, {"a": archive}), "rejectApplication")
    return {"archive": archive, **done}


async def test_edge_families_are_listed_in_scope_only(api: Api, runtime: Runtime) -> None:
    worker, reviewer = await staff(runtime)
    near = str(URBAN_STANDARD * 2)  # per-capita income: the line itself, under the edge
    far = str(EDGE * 4)  # per-capita income 2 x the edge line
    edge = await refused(api, worker, reviewer, [head("0.00"), spouse(near)])
    assert edge["status"] == "REJECTED" and edge["marginal"] is True
    well_off = await refused(api, worker, reviewer, [head("0.00"), spouse(far)])
    assert well_off["marginal"] is False
    pending = await submitted(api, worker, [head("0.00"), spouse(near)])  # not decided yet
    # an edge family of another province, refused by its own county
    away_worker = await issue_token(runtime, "caseworker", OTHER_COUNTY_VILLAGE[:9])
    away_reviewer = await issue_token(runtime, "county_reviewer", OTHER_COUNTY_VILLAGE[:6])
    away = await refused(
        api,
        away_worker,
        away_reviewer,
        [head("0.00"), spouse("600.00")],
        village=OTHER_COUNTY_VILLAGE,
    )
    assert away["marginal"] is True

    for token in (reviewer, worker, await issue_token(runtime, "supervisor", "22")):
        listed = (await api.gql(token, PAGE, {"m": True}))["data"]["households"]
        assert [n["archiveNo"] for n in nodes(listed)] == [edge["archive"]]
        assert listed["totalCount"] == 1
        rest = (await api.gql(token, PAGE, {"m": False}))["data"]["households"]
        assert {n["archiveNo"] for n in nodes(rest)} == {well_off["archive"], pending}
    national = await issue_token(runtime, "supervisor", "52")
    listed = (await api.gql(national, PAGE, {"m": True}))["data"]["households"]
    assert [n["archiveNo"] for n in nodes(listed)] == [away["archive"]]


@pytest.mark.both_paths
async def test_the_edge_family_filter_is_decided_like_the_field(api: Api, runtime: Runtime) -> None:
    await load_regions(runtime)
    finance = await issue_token(runtime, "finance_officer", "220183")
    body = await api.gql(finance, "{ households(marginal: true) { totalCount } }")
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "Household.marginal" in body["errors"][0]["extensions"]["denied"]
    # unfiltered, finance still counts the households it pays
    assert "errors" not in await api.gql(finance, "{ households { totalCount } }")


async def test_a_household_leaving_under_the_edge_line_is_an_edge_family(
    api: Api, runtime: Runtime
) -> None:
    worker, reviewer = await staff(runtime)
    archive = await submitted(api, worker, [head("0.00"), spouse("100.00")])
    await to_notice(api, worker, archive)
    later(runtime, 7)
    ok(await api.gql(reviewer, APPROVE, {"a": archive}), "approveApplication")
    ok(await api.gql(reviewer, ACTIVATE, {"a": archive}), "activateHousehold")
    first, _ = await member_ids(api, worker, archive)
    above = str(URBAN_STANDARD * 2)  # per-capita income: the line, not below it
    exiting = await check(
        api, worker, archive, "ADJUST", i=[{"memberId": first, "monthlyIncome": above}]
    )
    assert exiting["status"] == "GRADUAL_EXIT"
    got = (await api.gql(worker, HOUSEHOLD, {"a": archive}))["data"]["household"]
    assert got["marginal"] is True
    listed = (await api.gql(worker, PAGE, {"m": True}))["data"]["households"]
    assert [n["archiveNo"] for n in nodes(listed)] == [archive]
    # cover is named on the application: a member joining later cannot claim it
    joining = {
        "kind": "MEMBER_JOINED",
        "reason": "新生儿落户",
        "newMember": member(
            "CHILD", name="王小红", birth=dt.date(2026, 1, 5), income="0.00", phone=None,
            disabilityGrade=1, disabilityKind="MULTIPLE", covered=True,
        ),
    }  # fmt: skip
    refused = await api.gql(worker, CHANGE, {"a": archive, "c": joining})
    assert code(refused) == "BAD_USER_INPUT"
    assert "newMember.covered" in refused["errors"][0]["message"]
    joining["newMember"] = {**joining["newMember"], "covered": False}  # without it: joins
    assert ok(await api.gql(worker, CHANGE, {"a": archive, "c": joining}), "reportChange")
    # a change during the gradual exit past the edge line: no longer an edge family
    change = {
        "kind": "INCOME",
        "memberId": first,
        "monthlyIncome": str(EDGE * 4),
        "reason": "就业收入增加",
    }
    changed = ok(await api.gql(worker, CHANGE, {"a": archive, "c": change}), "reportChange")
    assert changed["status"] == "GRADUAL_EXIT"
    got = (await api.gql(worker, HOUSEHOLD, {"a": archive}))["data"]["household"]
    assert got["marginal"] is False
    listed = (await api.gql(worker, PAGE, {"m": True}))["data"]["households"]
    assert nodes(listed) == [] and listed["totalCount"] == 0


# --- asset limits -------------------------------------------------------------------------


async def test_an_application_over_an_asset_limit_is_not_approved(
    api: Api, runtime: Runtime
) -> None:
    worker, reviewer = await staff(runtime)
    limit = DEFAULT_ASSET_LIMITS[AssetKind.DEPOSIT]
    over = [
        {"kind": "DEPOSIT", "value": str(limit - 1000), "description": "银行存款"},
        {"kind": "DEPOSIT", "value": "1000.01", "description": "定期存款"},
        {"kind": "LAND", "value": "90000.00", "description": "承包耕地"},  # not counted
    ]
    archive = await submitted(api, worker, [head("0.00"), spouse("100.00")], assets=over)
    within = [
        {"kind": "DEPOSIT", "value": str(limit), "description": "银行存款"},
        {"kind": "VEHICLE", "value": "3000.00", "description": "电动三轮车"},
    ]
    fine = await submitted(api, worker, [head("0.00"), spouse("100.00")], assets=within)
    for case in (archive, fine):
        await to_notice(api, worker, case)
    later(runtime, 7)
    refused = await api.gql(reviewer, APPROVE, {"a": archive})
    assert code(refused) == "CONFLICT"
    message = refused["errors"][0]["message"]
    assert "DEPOSIT" in message
    assert not any(ch.isdigit() for ch in message), message  # no figures
    got = (await api.gql(reviewer, HOUSEHOLD, {"a": archive}))["data"]["household"]
    assert sorted(a["kind"] for a in got["assets"]) == ["DEPOSIT", "DEPOSIT", "LAND"]
    assert ok(await api.gql(reviewer, APPROVE, {"a": fine}), "approveApplication")["status"] == (
        "APPROVED"
    )


async def test_declared_assets_are_bounded_and_checked(api: Api, runtime: Runtime) -> None:
    worker, _ = await staff(runtime)
    many = [{"kind": "LIVESTOCK", "value": "900.00", "description": "山羊"}] * 21
    assert code(await submit(api, worker, [head()], assets=many)) == "BAD_USER_INPUT"
    for value in ("-1.00", "0.001", "1000000000.00"):
        bad = [{"kind": "DEPOSIT", "value": value}]
        assert code(await submit(api, worker, [head(idNumber=None)], assets=bad)) == (
            "BAD_USER_INPUT"
        ), value
    unknown = [{"kind": "YACHT", "value": "1.00"}]
    assert "errors" in await submit(api, worker, [head(idNumber=None)], assets=unknown)


async def test_declared_values_stay_out_of_the_audit(api: Api, runtime: Runtime) -> None:
    worker, _ = await staff(runtime)
    assets = [{"kind": "DEPOSIT", "value": "12345.67", "description": "工商银行定期存款"}]
    members = [head("0.00", disabilityGrade=3, disabilityKind="INTELLECTUAL", covered=True)]
    ok(await submit(api, worker, [*members, spouse("888.88")], assets=assets), "submitApplication")
    mutations = [e for e in await entries(runtime) if e.get("operation_type") == "mutation"]
    assert len(mutations) == 1, mutations
    assert "variables" in mutations[0]  # kept, with the personal values redacted
    text = str(mutations[0])
    for secret in ("12345.67", "工商银行定期存款", "INTELLECTUAL", "888.88"):
        assert secret not in text, secret


async def test_the_seed_holds_the_same_rules(runtime: Runtime) -> None:
    await seed(runtime.engine, runtime.cipher, households=150, seed=14)
    limits = AssetLimits()
    async with runtime.sessions() as session:
        households = (await session.scalars(select(models.Household))).all()
        members = (await session.scalars(select(models.Member).where(models.Member.active))).all()
        assets = (
            await session.execute(
                select(models.Asset.archive_no, models.Asset.kind, models.Asset.value)
            )
        ).all()
        standards = {
            (s.county_code, s.area): s.monthly_amount
            for s in (await session.scalars(select(models.Standard))).all()
        }
    incomes: dict[str, list[Decimal]] = {}
    for m in members:
        incomes.setdefault(m.archive_no, []).append(m.monthly_income)
        assert (m.disability_kind is None) == (m.disability_grade is None)
    declared: dict[str, list[tuple[str, Decimal]]] = {}
    for archive_no, kind, value in assets:
        declared.setdefault(archive_no, []).append((kind, value))
    refused_on_assets = 0
    for h in households:
        over = kinds_over_limit(
            declared.get(h.archive_no, []), limits.for_county(h.village_code[:6])
        )
        reasons = (h.closing_reasons or {}).get("reasons", [])
        on_assets = h.status == "REJECTED" and "ASSETS_ABOVE_LIMIT" in reasons
        assert bool(over) == on_assets, h.archive_no
        refused_on_assets += on_assets
        standard = standards[(h.village_code[:6], h.area)]
        expected = is_marginal(
            HouseholdStatus(h.status), standard, incomes[h.archive_no], MARGINAL_MULTIPLE
        )
        assert h.marginal == expected, h.archive_no
    assert refused_on_assets > 0
    assert any(h.marginal for h in households)


# --- the rules themselves -------------------------------------------------------------------


def test_one_asset_rule_with_county_overrides() -> None:
    limits = parse_asset_limits("DEPOSIT=30000", "220183:VEHICLE=0;520121:DEPOSIT=5000.5")
    assert limits.for_county("110105")[AssetKind.DEPOSIT] == Decimal("30000.00")
    assert limits.for_county("220183")[AssetKind.VEHICLE] == Decimal("0.00")
    assert limits.for_county("520121")[AssetKind.DEPOSIT] == Decimal("5000.50")
    car = [("VEHICLE", Decimal("1.00"))]
    check_assets(car, limits.for_county("110105"))
    with pytest.raises(Conflict, match="VEHICLE"):
        check_assets(car, limits.for_county("220183"))
    for bad in ("YACHT=1", "DEPOSIT=lots", "DEPOSIT=-1"):
        with pytest.raises(ValueError, match="DIBAO_ASSET_LIMITS"):
            parse_asset_limits(bad, "")
    with pytest.raises(ValueError, match="not a county code"):
        parse_asset_limits("", "2201:DEPOSIT=1")
    assert AssetLimits().for_county("220183") == dict(DEFAULT_ASSET_LIMITS)


def test_the_edge_line_multiple_is_configurable() -> None:
    assert parse_multiple("") == MARGINAL_MULTIPLE
    assert parse_multiple("2") == Decimal(2)
    for bad in ("0.5", "nan", "inf", "x", "4"):
        with pytest.raises(ValueError, match="DIBAO_MARGINAL_MULTIPLE"):
            parse_multiple(bad)
    assert Settings(database_url="", key_file=Path()).marginal_multiple == MARGINAL_MULTIPLE


def test_the_benefit_of_covered_members() -> None:
    std = Decimal("700.00")
    family = [Earner(Decimal("100.00"), covered=True), Earner(Decimal("1200.00"))]
    # per-capita 650: below the line, but cover names the first member: 700 - 100
    assert granted_benefit(std, family, marginal_multiple=Decimal("1.5")) == Decimal("600.00")
    # two covered members each as a one-person household; one earns above the line
    three = [
        Earner(Decimal("0.00"), covered=True),
        Earner(Decimal("800.00"), covered=True),
        Earner(Decimal("1700.00")),
    ]
    assert granted_benefit(std, three, marginal_multiple=Decimal("1.5")) == Decimal("700.00")
    # per-capita at the edge line (1050): no cover
    edge = [Earner(Decimal("0.00"), covered=True), Earner(Decimal("2100.00"))]
    assert granted_benefit(std, edge, marginal_multiple=Decimal("1.5")) is None
    whole = [Earner(Decimal("100.00")), Earner(Decimal("1200.00"))]
    assert granted_benefit(std, whole, marginal_multiple=Decimal("1.5")) == Decimal("100.00")
    assert is_marginal(HouseholdStatus.REJECTED, std, [Decimal("1049.99")], Decimal("1.5"))
    assert not is_marginal(HouseholdStatus.REJECTED, std, [Decimal("1050.00")], Decimal("1.5"))
    assert not is_marginal(HouseholdStatus.ACTIVE, std, [Decimal("0.00")], Decimal("1.5"))
