"""The contract documents in docs/ are the code's, not a copy that drifts: the rendered
ones equal their rendering, the hand-written ones name every code, field, role, column
and format the code has, and nothing points outside the repository."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import importlib.util
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


@functools.cache
def _render() -> ModuleType:
    """docs/render.py, loaded once: it caches the seconds-long policy rendering."""
    spec = importlib.util.spec_from_file_location("docs_render", DOCS / "render.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(page: str) -> list[list[str]]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| `")
    ]


def _first_names(page: str) -> set[str]:
    """The code-formatted name opening each table row."""
    return {m.group(1) for row in _rows(page) if (m := re.match(r"`([^`]+)`", row[0]))}


def test_nothing_points_outside_the_repository() -> None:
    files = [*PAGES, *sorted((DOCS / "deploy").iterdir())]
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert "../shared" not in text, path
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            resolved = (page.parent / target.split("#", 1)[0]).resolve()
            assert resolved.is_relative_to(ROOT), (page.name, target)
            assert resolved.exists(), (page.name, target)


def test_the_rendered_documents_are_current() -> None:
    render = _render()
    for path, text in render.rendered().items():
        assert path.read_text(encoding="utf-8") == text, f"run `make docs`: {path.name}"


def test_every_document_speaks_chinese_to_officials() -> None:
    for page in sorted(DOCS.glob("*.md")):
        heading = page.read_text(encoding="utf-8").splitlines()[0]
        assert heading.startswith("# ") and re.search(r"[\u4e00-\u9fff]", heading), page.name


def test_every_error_code_is_documented_and_every_documented_code_exists() -> None:
    import audit.chain
    import domain.calendar
    import store.applications
    from domain.errors import DomainError
    from schema.errors import CODES

    assert audit.chain and domain.calendar and store.applications  # their error classes
    classes, pending = set(), [DomainError]
    while pending:
        cls = pending.pop()
        classes.add(cls)
        pending.extend(cls.__subclasses__())
    codes = set(CODES) | {"INTERNAL"} | {cls.code for cls in classes}
    assert _first_names("errors.md") == codes


def test_every_masked_form_is_what_the_code_returns() -> None:
    from policies.masking import MASKERS

    rows = _rows("masking.md")
    for row in rows:
        field = row[0].split("`")[1]
        value, masked = row[2].strip("`"), row[3].strip("`")
        assert MASKERS[field](value) == masked, (field, value)
    assert {row[0].split("`")[1] for row in rows} == set(MASKERS)


def test_every_field_of_the_audit_entry_is_described() -> None:
    from audit.record import AuditRecord

    entry = AuditRecord(time=dt.datetime.now(dt.UTC), client=None, trace_id=None)
    entry.refused_count = 0  # present on summary entries only
    assert set(entry.as_dict()) <= _first_names("audit.md")


def test_every_role_is_described() -> None:
    from domain.enums import Role

    assert {r.value for r in Role} == _first_names("roles-and-scopes.md")


def test_every_column_of_the_import_template_is_described() -> None:
    with (DOCS / "import-template.csv").open(encoding="utf-8-sig") as template:
        headers = next(csv.reader(template))
    assert set(headers) == _first_names("import.md")


def test_the_workflow_names_real_mutations() -> None:
    from schema.root import build_schema

    mutations = set(build_schema()._schema.type_map["Mutation"].fields)  # type: ignore[attr-defined]
    named = {
        name
        for row in _rows("workflow.md")
        if len(row) == 5
        for name in re.findall(r"`([A-Za-z]+)`", row[1])
    }
    assert named and named <= mutations, named - mutations


@pytest.mark.parametrize("page", ["field-decisions.md", "workflow.md"])
def test_a_rendered_document_notices_a_change(page: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Break the source once: the rendering must differ (a check that cannot fail is none)."""
    render = _render()
    before = render.rendered()[DOCS / page]
    if page == "workflow.md":
        import domain.workflow

        monkeypatch.setitem(domain.workflow.STAGE_LIMITS, "ACCEPTED", 99)
    else:
        import policies.engine

        rules = [r for r in policies.engine.default_rules() if "Member.phone" not in r]
        monkeypatch.setattr(render, "default_rules", lambda: rules)
    assert render.rendered()[DOCS / page] != before
