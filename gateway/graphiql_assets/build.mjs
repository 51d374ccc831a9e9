// Bundles page.js with GraphiQL, React and graphql-js into dist/graphiql.js and
// dist/graphiql.css, the only files the service serves for GraphiQL.
//
// The libraries carry links to their documentation inside strings (React's error
// decoder, GraphiQL's keymap help, …). None is loaded, but a page naming an outside host
// fails an intranet's external-link scan, and a person following one on 政务外网 gets
// nowhere: each is replaced by `about:blank`. The XML namespace names the DOM needs
// (`http://www.w3.org/2000/svg`, …) are identifiers compared as strings, never fetched,
// and stay. tests/api/test_graphiql.py scans every served page for any other host.
import { build } from "esbuild";
import { readFileSync, writeFileSync } from "node:fs";

export const NAMESPACES = [
  "http://www.w3.org/1998/Math/MathML",
  "http://www.w3.org/1999/xhtml",
  "http://www.w3.org/1999/xlink",
  "http://www.w3.org/2000/svg",
  "http://www.w3.org/XML/1998/namespace",
];

await build({
  entryPoints: ["page.js"],
  bundle: true,
  minify: true,
  legalComments: "none",
  format: "iife",
  target: "es2020",
  define: { "process.env.NODE_ENV": '"production"' },
  // fonts and icons inside the CSS: no font-src beyond 'self' and data:
  loader: { ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl", ".svg": "dataurl" },
  outfile: "dist/graphiql.js",
  logLevel: "warning",
});

const URL = /https?:\/\/[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+[^\s"'`()<>\\]*/g;
for (const file of ["dist/graphiql.js", "dist/graphiql.css"]) {
  const text = readFileSync(file, "utf8");
  const kept = text.replace(URL, (url) =>
    NAMESPACES.some((ns) => url.startsWith(ns) && !/^[\w.-]/.test(url.slice(ns.length)))
      ? url
      : "about:blank",
  );
  writeFileSync(file, kept);
}
