"""Render the documents that restate code, so they cannot drift from it.

    python docs/render.py          # write README's settings table, docs/field-decisions.md
    python docs/render.py --check  # exit 1 when either differs from the code (`make docs-check`)

The settings table comes from gateway/config_table.py; the field decisions from the
shipped policy (policies/default_policy.csv) asked through the real policy engine for
every field of the schema, exactly as the gateway asks it.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config_table import markdown_table  # noqa: E402
from policies.engine import Decision, PolicyEngine, default_rules  # noqa: E402
from schema.root import build_schema  # noqa: E402

README = ROOT / "README.md"
DECISIONS = ROOT / "docs" / "field-decisions.md"
TABLE_BEGIN = "<!-- settings table: rendered from gateway/config_table.py -->"
TABLE_END = "<!-- end of the settings table -->"

ROLES = (
    ("caseworker", "经办人"),
    ("county_reviewer", "县级审批"),
    ("finance_officer", "财务"),
    ("supervisor", "监督"),
    ("partner", "协查部门"),
    ("auditor", "审计员"),
    ("secadmin", "安全管理员"),
    ("sysadmin", "系统管理员"),
)
CELLS = {
    Decision.CLEAR: "clear 明文",
    Decision.MASKED: "masked 脱敏",
    Decision.DENIED: "—",
    Decision.WRITE: "write 可执行",
}
WRITE_TYPE = "Mutation"


def readme_with_table(text: str) -> str:
    head, rest = text.split(TABLE_BEGIN, 1)
    _, tail = rest.split(TABLE_END, 1)
    return f"{head}{TABLE_BEGIN}\n{markdown_table()}\n{TABLE_END}{tail}"


def field_decisions() -> str:
    from graphql import GraphQLObjectType

    from domain.principal import Principal

    engine = PolicyEngine(default_rules())
    schema = build_schema()._schema
    types = sorted(
        (
            t
            for name, t in schema.type_map.items()
            if isinstance(t, GraphQLObjectType) and not name.startswith("__")
        ),
        key=lambda t: (t.name not in {"Query", WRITE_TYPE}, t.name),
    )
    lines = [
        "# Field decisions of the shipped policy (字段访问决定)",
        "",
        "<!-- rendered by `python docs/render.py` from policies/default_policy.csv;",
        "     tests/test_docs.py fails when this file differs from the policy -->",
        "",
        "Every field of every GraphQL type has one decision per role (角色): **clear 明文**,",
        "**masked 脱敏** (formats in [masking.md](masking.md)), or denied (拒绝, shown `—`).",
        "Denied is the default for anything the policy does not name. A mutation (操作) is",
        "either **write 可执行** or denied. This is the policy *as shipped*, at the national",
        "scope; a `secadmin` may change it (four eyes for widening, see",
        "[roles-and-scopes.md](roles-and-scopes.md)), and records outside a caller's region",
        "scope do not exist for that caller whatever the decision.",
        "",
        "The `partner` column is a partner credential issued **without** `--fields`: the",
        "verification entry points alone. A credential's `--fields` list can add fields the",
        "partner policy allows, never more. Connection plumbing (`edges`, `node`,",
        "`pageInfo`, `cursor`, `totalCount`) needs no naming. The administrators (三员:",
        "auditor, secadmin, sysadmin) read no personal data, and no rule can grant them any.",
        "",
    ]
    header = "| field 字段 | " + " | ".join(f"{r} {zh}" for r, zh in ROLES) + " |"
    rule = "|---" * (len(ROLES) + 1) + "|"
    for graphql_type in types:
        fields = graphql_type.fields  # inputs and enums are decided where a field takes them
        write = graphql_type.name == WRITE_TYPE
        lines += [f"## {graphql_type.name}", "", header, rule]
        for field in sorted(fields):
            obj = f"{graphql_type.name}.{field}"
            cells = [
                CELLS[engine.decide(Principal("doc", "doc", role, ""), obj, write=write)]
                for role, _ in ROLES
            ]
            lines.append(f"| `{field}` | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def rendered() -> dict[Path, str]:
    return {
        README: readme_with_table(README.read_text(encoding="utf-8")),
        DECISIONS: field_decisions(),
    }


def main(argv: list[str]) -> int:
    stale = []
    for path, text in rendered().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if "--check" in argv:
            stale.append(str(path.relative_to(ROOT)))
        else:
            path.write_text(text, encoding="utf-8")
    for name in stale:
        print(f"{name} differs from the code: run `python docs/render.py`", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
