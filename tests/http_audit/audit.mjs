// Runs the graphql-http server audit (the GraphQL-over-HTTP spec's own conformance
// checks) against DIBAO_AUDIT_URL with the bearer token DIBAO_AUDIT_TOKEN, and prints
// one JSON object per audit on stdout: {id, name, status, reason}.
import { serverAudits } from 'graphql-http';

const url = process.env.DIBAO_AUDIT_URL;
const token = process.env.DIBAO_AUDIT_TOKEN;
if (!url || !token) {
  console.error('set DIBAO_AUDIT_URL and DIBAO_AUDIT_TOKEN');
  process.exit(2);
}

// every audit request carries the credential: without it each would be a 401
function fetchWithToken(input, init = {}) {
  const headers = new Headers(init.headers || {});
  headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const results = [];
for (const audit of serverAudits({ url, fetchFn: fetchWithToken })) {
  const result = await audit.fn();
  results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null });
}
process.stdout.write(JSON.stringify(results));
