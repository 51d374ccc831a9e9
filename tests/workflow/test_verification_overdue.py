"""A department's answer past its due date shows up in `overdue` (核对), by working days,
for those who may read a household's verifications, in their scope only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.runtime import Runtime
from tests.conftest import Api
from tests.helpers import issue_token, nodes
from tests.workflow.test_review_chain import code, ok
from tests.workflow.test_verification import ANSWER, QUEUE, queue_of, start_exchange

LATE = "query($v: Boolean) { overdue(verification: $v) { edges { node { archiveNo } } } }"
BOTH = "{ overdue(stage: SUBMITTED, verification: true) { totalCount } }"
NEITHER = "{ overdue { totalCount } }"
BEIJING = dt.timezone(dt.timedelta(hours=8))


def at(runtime: Runtime, day: dt.date) -> None:
    moment = dt.datetime.combine(day, dt.time(10), BEIJING).astimezone(dt.UTC)
    runtime.clock = lambda: moment


async def late(api: Api, token: str) -> list[str]:
    found = nodes(ok(await api.gql(token, LATE, {"v": True}), "overdue"))
    return [n["archiveNo"] for n in found]


async def test_a_late_answer_is_overdue_until_it_comes(api: Api, runtime: Runtime) -> None:
    exchange: dict[str, Any] = await start_exchange(api, runtime)
    worker, reviewer = exchange["worker"], exchange["reviewer"]
    archive = exchange["archive"]
    due = dt.date.fromisoformat(exchange["requested"][0]["dueOn"])
    at(runtime, due)
    assert await late(api, worker) == []  # due today: not late yet
    at(runtime, due + dt.timedelta(days=1))
    assert await late(api, worker) == [archive]
    assert await late(api, reviewer) == [archive]
    # another township's caseworker sees none of it; a supervisor may not filter by
    # what it may not read (Household.verifications)
    stranger = await issue_token(runtime, "caseworker", "220183101")
    assert await late(api, stranger) == []
    supervisor = await issue_token(runtime, "supervisor", "22")
    assert code(await api.gql(supervisor, LATE, {"v": True})) == "FORBIDDEN"
    # one question at a time
    assert code(await api.gql(worker, BOTH)) == "BAD_USER_INPUT"
    assert code(await api.gql(worker, NEITHER)) == "BAD_USER_INPUT"
    # both departments answer: nothing is late any more
    for name in ("gongan", "renshe"):
        token = exchange["partners"][name]
        request = queue_of(await api.gql(token, QUEUE, {"s": "PENDING"}))[0]
        findings = [{"subjectId": s["id"]} for s in request["subjects"]]
        ok(await api.gql(token, ANSWER, {"r": request["id"], "f": findings}), "answerVerification")
    assert await late(api, worker) == []
