"""GraphiQL on a network without Internet, in a real browser: `dibao serve` with
`DIBAO_GRAPHIQL=1` (not the demo, so the service answers no introspection), the system
Chromium with every host but the server's unresolvable and any request elsewhere
aborted and recorded. The page renders, reads the schema from the SDL, runs a query
with a caseworker's token and shows the result, and keeps nothing in the browser's
storage. A screenshot lands in
test-artifacts/console/graphiql.png.

The same skip and require rules as the console's browser test (DIBAO_REQUIRE_BROWSER),
which also apply to GraphiQL's built files (`make graphiql`).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from gateway.config import Settings
from gateway.graphiql import CSP, missing_files
from gateway.runtime import Runtime
from tests.conftest import Api
from tests.console.test_console_e2e import (
    ARTIFACTS,
    CHROMIUM_ARGS,
    REQUIRE_BROWSER,
    TIMEOUT_MS,
    _console_problem,
    chromium,  # noqa: F401  (the fixture, with its skip and require rules)
)
from tests.helpers import CASEWORKER_TOWNSHIP, application, issue_token, load_regions, member
from tests.serving import dibao_serve

SUBMIT = (
    "mutation Submit($input: ApplicationInput!) { submitApplication(input: $input) { archiveNo } }"
)
QUERY = "query Mine { households(first: 5) { totalCount edges { node { archiveNo status } } } }"


@pytest.fixture
def built() -> None:
    missing = missing_files()
    if missing:
        reason = f"GraphiQL's files are not built (make graphiql): {', '.join(missing)}"
        if REQUIRE_BROWSER:
            pytest.fail(f"a browser is required (DIBAO_REQUIRE_BROWSER=1): {reason}")
        pytest.skip(reason)


@pytest.fixture
async def server(settings: Settings, tmp_path: Path) -> AsyncIterator[str]:
    env = {
        **os.environ,
        "DIBAO_DATABASE_URL": settings.database_url,
        "DIBAO_KEY_FILE": str(settings.key_file),
        "DIBAO_GRAPHIQL": "1",
    }
    async with dibao_serve(env, tmp_path) as base:
        yield base


async def _editor(page: Any, selector: str, text: str) -> None:
    """Fill one of GraphiQL's CodeMirror editors through CodeMirror's own API: typing
    would race its bracket auto-closing."""
    editor = page.locator(f"{selector} .CodeMirror:visible")
    await editor.evaluate("(el, text) => el.CodeMirror.setValue(text)", text)


@pytest.mark.sqlite_only
async def test_graphiql_works_offline_without_introspection(
    chromium: Path,  # noqa: F811
    built: None,
    server: str,
    runtime: Runtime,
) -> None:
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=TIMEOUT_MS)
    await load_regions(runtime)
    token = await issue_token(runtime, "caseworker", CASEWORKER_TOWNSHIP, principal="cw-ide")
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        created = await Api(client).gql(
            token, SUBMIT, {"input": application(members=[member("HEAD")])}
        )
    archive = created["data"]["submitApplication"]["archiveNo"]

    own = urlsplit(server).netloc
    problems: list[str] = []
    elsewhere: list[str] = []
    sent: list[str] = []

    async def offline(route: Any) -> None:
        if urlsplit(route.request.url).netloc != own:
            elsewhere.append(route.request.url)
            await route.abort("internetdisconnected")
            return
        if route.request.method == "POST":
            sent.append(route.request.post_data or "")
        await route.continue_()

    async with async_playwright() as playwright:
        # no name but the loopback resolves: the browser is as offline as an intranet
        args = [*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        browser = await playwright.chromium.launch(executable_path=str(chromium), args=args)
        try:
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(TIMEOUT_MS)
            await context.route("**/*", offline)
            page = await context.new_page()
            page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
            page.on("console", lambda msg: problems.append(_console_problem(msg)))

            response = await page.goto(f"{server}/graphql")
            assert response is not None and response.ok
            assert response.headers["content-security-policy"] == CSP
            await expect(page.locator(".graphiql-container")).to_be_visible()

            # docs from the SDL: the root type's fields are listed without introspection
            await page.get_by_role("button", name="Show Documentation Explorer").click()
            docs = page.locator(".graphiql-doc-explorer")
            await docs.get_by_role("link", name="Query", exact=True).click()
            await expect(docs).to_contain_text("households")

            await _editor(page, ".graphiql-query-editor", QUERY)
            # GraphiQL parses the query editor after a 100 ms debounce and sends the
            # operation name it parsed last: Execute before that would send the example's
            # "Households" with a document that names only "Mine"
            await page.wait_for_function(
                """() => [...document.querySelectorAll('.graphiql-query-editor .CodeMirror')]
                    .some((el) => el.CodeMirror.operationName === 'Mine')"""
            )
            await page.get_by_text("Headers", exact=True).click()
            headers = json.dumps({"Authorization": f"Bearer {token}"})
            await _editor(page, ".graphiql-editor-tool", headers)
            await page.locator(".graphiql-execute-button").click()
            result = page.locator(".graphiql-response")
            await expect(result).to_contain_text(archive)
            await expect(result).to_contain_text('"totalCount": 1')
            # nothing of the session is kept in the browser: the token, a query's literals
            kept = await page.evaluate("localStorage.length + sessionStorage.length")
            assert kept == 0
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "graphiql.png"))
        finally:
            await browser.close()

    assert elsewhere == [], elsewhere
    assert [p for p in problems if p] == []
    assert not any("__schema" in body for body in sent), "GraphiQL sent an introspection query"
    assert any("Mine" in body for body in sent)
