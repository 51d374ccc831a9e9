"""GraphiQL served by the service itself: only where it is switched on, under a strict
Content-Security-Policy, with the schema as SDL while introspection stays off, a page
that says how to install its files when they are missing, and no page of the service
that names another host. The browser test is tests/console/test_graphiql_e2e.py."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from gateway import graphiql
from gateway.app import CONSOLE_DIR, create_app
from gateway.config import Settings, load_settings
from gateway.runtime import Runtime
from tests.helpers import issue_token

pytestmark = pytest.mark.sqlite_only  # pages and policy, no storage of their own

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
HTML = {"accept": "text/html"}
INTROSPECT = "{ __schema { queryType { name } } }"
# a host named anywhere: http(s)://host or a protocol-relative //host in a URL position
HOST = re.compile(r"""(?:https?:)?//([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|localhost)(?::\d+)?""")
# XML namespace names, which the DOM compares as strings and never fetches (React,
# CodeMirror and inline SVG need them); any other host fails the scan
NAMESPACES = {
    "http://www.w3.org/1998/Math/MathML",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/XML/1998/namespace",
}


@pytest.fixture
async def client(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(dataclasses.replace(settings, graphiql=True), runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


@pytest.fixture
async def closed(settings: Settings, runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """As served by default: no demo, no DIBAO_GRAPHIQL."""
    app = create_app(settings, runtime)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.inline_scripts = 0
        self.inline_handlers: list[str] = []
        self.style_attributes = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.inline_handlers += [name for name, _ in attrs if name.startswith("on")]
        self.style_attributes += "style" in values
        for name in ("src", "href"):
            if values.get(name):
                self.links.append(str(values[name]))
        self._in_script = tag == "script" and not values.get("src")

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def _outside_hosts(text: str) -> set[str]:
    named = set()
    for match in HOST.finditer(text):
        url = match.group(0)
        rest = text[match.end() : match.end() + 40]
        whole = url + re.split(r"""[\s"'`()<>\\]""", rest, maxsplit=1)[0]
        if whole in NAMESPACES or match.group(1) == "testserver":
            continue
        named.add(whole[:80])
    return named


async def _crawl(client: httpx.AsyncClient, starts: list[str]) -> dict[str, str]:
    """Every page reachable from the starts on this origin, by src and href."""
    seen: dict[str, str] = {}
    pending = list(starts)
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        response = await client.get(path, headers=HTML)
        assert response.status_code in (200, 503), (path, response.status_code)
        seen[path] = response.text
        if "html" in response.headers.get("content-type", ""):
            parser = _Links()
            parser.feed(response.text)
            for link in parser.links:
                target = urlsplit(urljoin(f"http://testserver{path}", link))
                if target.scheme in ("http", "https") and target.netloc == "testserver":
                    pending.append(target.path)
    return seen


async def test_no_page_of_the_service_names_another_host(client: httpx.AsyncClient) -> None:
    console = [f"/console/{p.name}" for p in CONSOLE_DIR.iterdir() if p.is_file()]
    built = [f"/graphiql/{name}" for name in graphiql.FILES if not graphiql.missing_files()]
    pages = await _crawl(client, ["/graphql", "/console/", *console, *built])
    assert "/graphiql/schema.graphql" not in pages or pages["/graphiql/schema.graphql"]
    assert {"/graphql", "/console/", "/graphiql/page.css"} <= pages.keys()
    named = {path: hosts for path, text in pages.items() if (hosts := _outside_hosts(text))}
    assert named == {}


def test_the_scan_sees_a_host() -> None:
    """The scan itself, shown to find what it looks for."""
    assert _outside_hosts('<script src="https://unpkg.com/react"></script>')
    assert _outside_hosts("@import url(//fonts.example.com/x.css);")
    assert _outside_hosts('e="https://reactjs.org/docs/error-decoder.html?invariant="')
    assert not _outside_hosts('createElementNS("http://www.w3.org/2000/svg","svg")')
    assert _outside_hosts('"http://www.w3.org/2000/svg.evil.example/x"')


async def test_the_page_is_strict_and_has_no_inline_script(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers=HTML)
    assert response.headers["content-type"].startswith("text/html")
    csp = response.headers["content-security-policy"]
    assert csp == graphiql.CSP
    assert "unsafe" not in csp and "http" not in csp and "*" not in csp
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp
    parser = _Links()
    parser.feed(response.text)
    assert parser.inline_scripts == 0 and parser.inline_handlers == []
    assert parser.style_attributes == 0


async def test_graphiql_reads_the_committed_sdl(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphiql/schema.graphql")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/graphql")
    assert response.text.strip() == SCHEMA_FILE.read_text().strip()


async def test_introspection_stays_off_with_graphiql_on(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    token = await issue_token(runtime, "caseworker", "220183100", principal="cw-ide")
    response = await client.post(
        "/graphql", json={"query": INTROSPECT}, headers={"authorization": f"Bearer {token}"}
    )
    body = response.json()
    assert body["data"] is None, body
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_graphiql_is_off_unless_switched_on(closed: httpx.AsyncClient) -> None:
    page = await closed.get("/graphql", headers=HTML)
    assert page.status_code == 405
    assert page.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    for path in ("/graphiql/schema.graphql", "/graphiql/graphiql.js", "/graphiql/page.css"):
        assert (await closed.get(path)).status_code == 404, path


def test_the_development_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIBAO_GRAPHIQL", raising=False)
    assert load_settings().graphiql is False
    assert load_settings(demo=True).graphiql is True
    monkeypatch.setenv("DIBAO_GRAPHIQL", "1")
    assert load_settings().graphiql is True
    monkeypatch.setenv("DIBAO_GRAPHIQL", "maybe")
    with pytest.raises(ValueError, match="DIBAO_GRAPHIQL"):
        load_settings()


async def test_missing_files_are_explained_not_blank(
    client: httpx.AsyncClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(graphiql, "BUILT", tmp_path)
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 503
    assert response.headers["content-security-policy"] == graphiql.CSP
    assert "make graphiql" in response.text
    assert "graphiql.js" in response.text
    assert "<script" not in response.text


async def test_the_page_is_audited(client: httpx.AsyncClient, runtime: Runtime) -> None:
    from sqlalchemy import func, select

    from store.models import AuditEntry

    async with runtime.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(AuditEntry))
    await client.get("/graphql", headers=HTML)
    async with runtime.sessions() as session:
        after = await session.scalar(select(func.count()).select_from(AuditEntry))
    assert after == (before or 0) + 1
