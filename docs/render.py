"""Render the documents that restate code, so they cannot drift from it.

    python docs/render.py          # write the README's settings table, docs/field-decisions.md
                                   # and docs/workflow.md's steps and stage limits
    python docs/render.py --check  # exit 1 when any differs from the code (`make docs-check`)

The settings table comes from gateway/config_table.py; the workflow's steps and stage
limits from domain/workflow.py; the field decisions from the shipped policy
(policies/default_policy.csv), asked through the real policy engine for every field of
the schema, exactly as the gateway asks it.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gateway.config_table import markdown_table  # noqa: E402
from policies.engine import Decision, PolicyEngine, default_rules  # noqa: E402
from schema.root import build_schema  # noqa: E402

README = ROOT / "README.md"
DECISIONS = ROOT / "docs" / "field-decisions.md"
WORKFLOW = ROOT / "docs" / "workflow.md"
STEPS_BEGIN = "<!-- steps: rendered from domain/workflow.py RULES -->"
STEPS_END = "<!-- end of the steps -->"
LIMITS_BEGIN = "<!-- stage limits: rendered from domain/workflow.py STAGE_LIMITS -->"
LIMITS_END = "<!-- end of the stage limits -->"

STATUS_ZH = {
    "DRAFT": "草稿",
    "SUBMITTED": "已申请",
    "AWAITING_CORRECTION": "待补正",
    "ACCEPTED": "已受理",
    "INVESTIGATED": "已入户调查",
    "TOWNSHIP_REVIEWED": "乡镇已审核",
    "NOTICE": "公示中",
    "APPROVED": "已批准",
    "REJECTED": "不予批准",
    "WITHDRAWN": "已撤回",
    "ACTIVE": "在保",
    "SUSPENDED": "暂停",
    "GRADUAL_EXIT": "渐退期",
    "TERMINATED": "已终止",
    "ARCHIVED": "已归档",
}
STEP_ZH = {
    "SUBMIT": ("提交申请", "submitApplication"),
    "RETURN_FOR_CORRECTION": ("退回补正", "returnForCorrection"),
    "RESUBMIT": ("补正后重新提交", "resubmitApplication"),
    "ACCEPT": ("受理", "acceptApplication"),
    "INVESTIGATE": ("入户调查", "recordInvestigation"),
    "TOWNSHIP_REVIEW": ("乡镇审核", "reviewInTownship"),
    "PUBLISH_NOTICE": ("公示", "publishNotice"),
    "DISMISS_OBJECTION": ("异议不成立", "dismissObjection"),
    "UPHOLD_OBJECTION": ("异议成立，重新调查", "upholdObjection"),
    "COUNTY_VISIT": ("县级入户核查", "recordCountyVisit"),
    "EXTEND_DEADLINE": ("延长审核期限", "extendDeadline"),
    "ADOPT_FINDINGS": ("采纳核对结果", "adoptFindings"),
    "APPROVE": ("审核确认", "approveApplication"),
    "REJECT": ("不予批准", "rejectApplication"),
    "WITHDRAW": ("撤回申请", "withdrawApplication"),
    "ACTIVATE": ("开始发放", "activateHousehold"),
    "SUSPEND": ("暂停发放", "suspendHousehold"),
    "RESUME": ("恢复发放", "resumeHousehold"),
    "COMPLETE_REVIEW": ("定期核查", "completeReview"),
    "ENTER_GRADUAL_EXIT": ("进入渐退期", "reportChange, completeReview"),
    "PROPOSE_TERMINATION": ("提出终止", "proposeTermination"),
    "TERMINATE": ("终止", "terminateHousehold, endGradualExits"),
    "ARCHIVE": ("归档", "archiveHousehold, archiveDue"),
    "WRITTEN_DECISION": ("书面通知送达", "recordWrittenDecision"),
    "IMPORTED": ("旧档案导入", "importArchives, dibao import archives"),
}
LIMIT_WHAT = {
    "SUBMITTED": "to accept (受理) or return for correction",
    "ACCEPTED": "to investigate the home (入户调查)",
    "INVESTIGATED": "to review in the township (乡镇审核)",
    "TOWNSHIP_REVIEWED": "to publish the notice (公示)",
    "NOTICE": "for the county's decision, counted from the notice's end",
    "APPROVED": "to start payment (开始发放)",
    "REJECTED": "to deliver the written refusal (书面通知)",
    "TERMINATED": "to deliver the written termination (书面通知)",
}
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
    return _splice(text, TABLE_BEGIN, TABLE_END, markdown_table())


def field_decisions() -> str:
    # asking the engine for every field and role takes seconds: render once per policy
    return _field_decisions(tuple(tuple(rule) for rule in default_rules()))


@functools.cache
def _field_decisions(rules: tuple[tuple[str, ...], ...]) -> str:
    from graphql import GraphQLObjectType

    from domain.principal import Principal

    engine = PolicyEngine(rules)
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


def _splice(text: str, begin: str, end: str, body: str) -> str:
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{begin}\n{body}\n{end}{tail}"


def workflow_steps() -> str:
    from domain.enums import HouseholdStatus
    from domain.workflow import RULES

    order = list(HouseholdStatus)
    lines = [
        "| step 步骤 | mutation | from 起始状态 | to 结果状态 | reason 需说明理由 |",
        "|---|---|---|---|---|",
    ]
    for step, rule in RULES.items():
        zh, mutation = STEP_ZH[step.value]
        sources = ", ".join(
            f"{s.value} {STATUS_ZH[s.value]}" for s in sorted(rule.sources, key=order.index)
        )
        target = (
            f"{rule.target.value} {STATUS_ZH[rule.target.value]}"
            if rule.target
            else "unchanged 不变"
        )
        reason = "yes 是" if rule.reason_required else "no 否"
        names = ", ".join(f"`{m.strip()}`" for m in mutation.split(","))
        lines.append(f"| `{step.value}` {zh} | {names} | {sources} | {target} | {reason} |")
    return "\n".join(lines)


def stage_limits() -> str:
    from domain.enums import HouseholdStatus
    from domain.workflow import STAGE_LIMITS

    lines = [
        "| status 状态 | working days 工作日 | the clock runs |",
        "|---|---|---|",
    ]
    for status in HouseholdStatus:
        if status.value in STAGE_LIMITS:
            days = STAGE_LIMITS[status.value]
            what = LIMIT_WHAT[status.value]
            lines.append(f"| `{status.value}` {STATUS_ZH[status.value]} | {days} | {what} |")
    return "\n".join(lines)


def workflow(text: str) -> str:
    text = _splice(text, STEPS_BEGIN, STEPS_END, workflow_steps())
    return _splice(text, LIMITS_BEGIN, LIMITS_END, stage_limits())


def rendered() -> dict[Path, str]:
    return {
        README: readme_with_table(README.read_text(encoding="utf-8")),
        DECISIONS: field_decisions(),
        WORKFLOW: workflow(WORKFLOW.read_text(encoding="utf-8")),
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
