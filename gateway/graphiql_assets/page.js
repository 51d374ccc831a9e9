// GraphiQL for the Dibao Archive API, bundled with its libraries into one file served by
// the service itself (gateway/graphiql.py): nothing is loaded from another host, and the
// page has no inline script, so the Content-Security-Policy can stay `script-src 'self'`.
//
// The schema comes from the service's SDL (the committed schema.graphql), not from an
// introspection query: outside demo mode the service answers no introspection.
import { GraphiQL } from "graphiql";
import { buildSchema } from "graphql";
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import "graphiql/graphiql.css";

const root = document.getElementById("graphiql");
const endpoint = root.dataset.endpoint;
const EXAMPLE = `# Dibao Archive API. Put your bearer token in the Headers tab below, then run:
query Households {
  households(first: 5) {
    totalCount
    edges { node { archiveNo regionCode status } }
  }
}
`;

// One POST per operation, as any client sends it; the headers are the user's own (the
// Authorization header with a bearer token). No cookie is ever sent or honoured.
async function fetcher(params, options) {
  const response = await fetch(endpoint, {
    method: "POST",
    credentials: "omit",
    headers: {
      ...((options && options.headers) || {}),
      "content-type": "application/json",
      accept: "application/json",
    },
    body: JSON.stringify(params),
  });
  return response.json();
}

// Tabs, history and headers live in this page's memory only, never in localStorage: a
// query may hold an ID number as a literal, and an intranet PC is often shared.
const memory = new Map();
const storage = {
  getItem: (key) => (memory.has(key) ? memory.get(key) : null),
  setItem: (key, value) => void memory.set(key, String(value)),
  removeItem: (key) => void memory.delete(key),
  clear: () => memory.clear(),
  get length() {
    return memory.size;
  },
};

async function start() {
  const sdl = await (await fetch(root.dataset.schema, { credentials: "omit" })).text();
  createRoot(root).render(
    createElement(GraphiQL, {
      fetcher,
      schema: buildSchema(sdl),
      defaultQuery: EXAMPLE,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      isHeadersEditorEnabled: true,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
      storage,
    }),
  );
}

start().catch((error) => {
  root.textContent = `GraphiQL could not start: ${error}`;
});
