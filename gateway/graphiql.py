"""GraphiQL served by the service itself, for networks without Internet (政务外网).

The page is ours; its one script and one stylesheet are GraphiQL, React and graphql-js
bundled by `make graphiql` from npm packages pinned in
`gateway/graphiql_assets/package-lock.json`, and served from `/graphiql/`. Nothing is
loaded from another host and the page has no inline script, which the
Content-Security-Policy below enforces in the browser.

The schema reaches GraphiQL as SDL (what `schema.graphql` commits), so docs and
completion work while the service itself answers no introspection outside demo mode.
"""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).with_name("graphiql_assets")
BUILT = ASSETS / "dist"
FILES = ("graphiql.js", "graphiql.css")
# everything from this origin; fonts and icons are data: URLs inside the stylesheet
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self' data:; connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)

# paths relative to /graphql, so that the page works under a reverse proxy's prefix too
PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>Dibao Archive API · GraphiQL</title>
<link rel="stylesheet" href="graphiql/graphiql.css">
<link rel="stylesheet" href="graphiql/page.css">
</head>
<body>
<div id="graphiql" data-endpoint="graphql" data-schema="graphiql/schema.graphql">Loading…</div>
<script src="graphiql/graphiql.js"></script>
</body>
</html>
"""

MISSING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>GraphiQL is not installed</title></head>
<body>
<h1>GraphiQL's files are not installed on this server</h1>
<p>The service serves GraphiQL from its own files, never from another host, and this
installation does not have them (missing: {missing}).</p>
<p>Install them where the service was installed, with Node.js and npm and access to the
npm registry (or a mirror of it), then reload this page:</p>
<pre>make graphiql</pre>
<p>This runs <code>npm ci</code> and <code>npm run build</code> in
<code>gateway/graphiql_assets/</code>; the packages are pinned by its
<code>package-lock.json</code>. Meanwhile, any GraphQL client can POST to this
address.</p>
</body>
</html>
"""

# GraphiQL lays itself out over the whole window; an external sheet, as inline styles
# would need 'unsafe-inline' in the policy
PAGE_CSS = "body { margin: 0; } #graphiql { height: 100vh; }\n"


def missing_files() -> list[str]:
    return [name for name in FILES if not (BUILT / name).is_file()]


def ide_page() -> Response:
    """The GraphiQL page, or one saying how to install its files: never a blank page."""
    missing = missing_files()
    if missing:
        body = MISSING.format(missing=html.escape(", ".join(missing)))
        return HTMLResponse(body, status_code=503, headers={"content-security-policy": CSP})
    return HTMLResponse(PAGE, headers={"content-security-policy": CSP})


def routes(sdl: str) -> list[BaseRoute]:
    """`/graphiql/…`: the built files, the page's stylesheet and the schema's SDL."""

    async def schema(_: Request) -> Response:
        return PlainTextResponse(sdl, media_type="application/graphql")

    async def page_css(_: Request) -> Response:
        return Response(PAGE_CSS, media_type="text/css")

    return [
        Route("/graphiql/schema.graphql", schema, methods=["GET"]),
        Route("/graphiql/page.css", page_css, methods=["GET"]),
        Mount("/graphiql", StaticFiles(directory=BUILT, check_dir=False)),
    ]
