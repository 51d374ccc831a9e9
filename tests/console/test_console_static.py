"""The console's own files, read without a browser: both languages complete, no HTML
built from data, and every GraphQL document it sends valid and priced within limits.

The browser test drives the pages; these catch what a page that still renders hides: an
English key left out (the Chinese text shows instead), a label missing for a new enum
value, a document that grows past the cost limit once the API's bounds change.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import parse, validate

from domain.alerts import AlertRule, AlertStatus
from domain.enums import ProposalStatus, Role
from domain.verification import Department
from policies.engine import Decision
from policies.limits import Limits, document_refusal
from policies.walk import analyse
from schema.pricing import pricing
from schema.root import build_schema

CONSOLE = Path(__file__).resolve().parents[2] / "gateway" / "console"
SCRIPT = (CONSOLE / "console.js").read_text("utf-8")
PAGE = (CONSOLE / "index.html").read_text("utf-8")


def _dictionary(language: str) -> set[str]:
    """The keys of one language's block of the I18N table."""
    match = re.search(rf"\n    {language}: \{{\n(.*?)\n    \}}", SCRIPT, re.DOTALL)
    assert match, f"no {language} block in console.js"
    return set(re.findall(r"^\s*'([^']+)':", match.group(1), re.MULTILINE))


ZH = _dictionary("zh")
EN = _dictionary("en")


def _constants() -> dict[str, str | int]:
    """The script's upper-case `var`s: numbers, and strings joined from literals and
    earlier constants (how the console writes its GraphQL documents)."""
    found: dict[str, str | int] = {}
    for name, number in re.findall(r"var ([A-Z_]+) = (\d+);", SCRIPT):
        found[name] = int(number)
    pattern = r"var ([A-Z_]+) =\s*((?:'[^'\n]*'|[A-Z_]+|\s|\+)+);"
    for name, expression in re.findall(pattern, SCRIPT):
        parts = re.findall(r"'([^'\n]*)'|([A-Z_]+)", expression)
        found[name] = "".join(text or str(found[ref]) for text, ref in parts)
    return found


CONSTANTS = _constants()
DOCUMENTS = {
    name: value
    for name, value in CONSTANTS.items()
    if isinstance(value, str) and value.startswith(("query ", "mutation "))
}


def test_both_languages_have_the_same_keys() -> None:
    assert sorted(ZH - EN) == [], "keys with no English text"
    assert sorted(EN - ZH) == [], "keys with no Chinese text"


def test_every_key_the_page_and_script_name_exists() -> None:
    named = set(re.findall(r'data-i18n(?:-aria)?="([^"]+)"', PAGE))
    # whole literal keys; a key built from a prefix is checked per enum value below
    named |= set(re.findall(r"\bt\('([^']+)'[,)]", SCRIPT))
    # message keys kept in state (`{ key: 'alerts.emptyNote' }`); dictionary keys have a dot
    named |= set(re.findall(r"\{ key: '([a-z]+\.[A-Za-z.]+)'", SCRIPT))
    assert sorted(named - ZH) == []


@pytest.mark.parametrize(
    ("prefix", "values"),
    [
        ("rule.", [r.value for r in AlertRule]),
        ("alertStatus.", [s.value for s in AlertStatus]),
        ("proposalStatus.", [s.value for s in ProposalStatus]),
        ("role.", [r.value for r in Role]),
        ("decision.", [d.value for d in Decision]),
        ("department.", [d.value for d in Department]),
    ],
)
def test_every_enum_value_has_a_label(prefix: str, values: list[str]) -> None:
    # a value the console has no label for would show as its code, in either language
    assert sorted(f"{prefix}{v}" for v in values if f"{prefix}{v}" not in ZH) == []


def test_alert_rules_are_labelled_as_the_officers_call_them() -> None:
    labels = dict(re.findall(r"'rule\.([A-Z_]+)': '([^']+)'", SCRIPT.split("\n    en: {")[0]))
    assert labels == {
        "BULK_READS": "批量读取",
        "LOOKUP_MISSES": "查询未命中",
        "REFUSALS": "多次被拒",
        "OFF_HOURS": "非工作时间访问",
        "NEW_CLIENT": "新客户端地址",
    }


def test_no_markup_is_built_from_strings() -> None:
    code = re.sub(r"/\*.*?\*/", "", SCRIPT, flags=re.DOTALL)
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", ".style.", "setAttribute('style'"):  # fmt: skip
        assert sink not in code, sink
    # the page: no inline script or style, nothing fetched from another origin
    assert "<script>" not in PAGE
    assert " style=" not in PAGE
    assert not re.search(r'(?:src|href)="(?:https?:)?//', PAGE)


def test_the_documents_are_found() -> None:
    # the extraction above is what the next test relies on: it must see the new pages
    assert {"ALERTS_QUERY", "ACK_MUTATION", "PROPOSALS_QUERY", "EVENTS_QUERY"} <= set(DOCUMENTS)


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_document_is_valid_and_priced_within_the_limits(name: str) -> None:
    served = build_schema()
    document = parse(DOCUMENTS[name])
    assert validate(served._schema, document) == []
    limits = Limits()
    assert document_refusal(document, limits) is None
    # the largest values the console sends for the sizes the price depends on
    variables = {
        "first": max(int(CONSTANTS["PAGE_SIZE"]), int(CONSTANTS["EXPORT_PAGE_SIZE"])),
        "newest": CONSTANTS["ALERTS_NEWEST"],
    }
    analysis = analyse(
        served._schema,
        document,
        operation_name=None,
        variables=variables,
        decide=lambda _obj, write: Decision.WRITE if write else Decision.CLEAR,
        limits=limits,
        pricing=pricing(served),
    )
    assert 0 < analysis.cost <= limits.max_cost, analysis.cost


def test_the_verification_page_lists_every_department() -> None:
    # the page sorts by this list; a department missing from it would sort first, unnamed
    listed = re.search(r"var DEPARTMENTS = \[([^\]]*)\];", SCRIPT)
    assert listed, "no DEPARTMENTS list in console.js"
    assert re.findall(r"'([A-Z_]+)'", listed.group(1)) == [d.value for d in Department]
