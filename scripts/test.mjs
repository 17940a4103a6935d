// `npm test`: every test (unit, sim, e2e). Fails at once when no Chromium can be found. The projects run
// one after another, so the simulator's CPU load does not skew the real-browser tests on a small
// machine. Closes with the line `N passed, N failed`, read from vitest's JSON results.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { findChromium, INSTALL_HINT } from './find-chromium.mjs';

const chromium = findChromium();
if (!chromium) {
  console.error(INSTALL_HINT);
  process.exit(1);
}
process.env.CHROMIUM_PATH = chromium;

const extra = process.argv.slice(2);
const chosen = extra.includes('--project') ? [extra[extra.indexOf('--project') + 1]] : ['unit', 'sim', 'e2e'];
const rest = extra.includes('--project') ? extra.filter((_, i) => i !== extra.indexOf('--project') && i !== extra.indexOf('--project') + 1) : extra;

mkdirSync('test-results', { recursive: true });
let passed = 0;
let failed = 0;
let ok = true;
for (const project of chosen) {
  const out = `test-results/vitest-${project}.json`;
  rmSync(out, { force: true });
  const started = Date.now();
  const run = spawnSync(
    'npx',
    ['vitest', 'run', '--project', project, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...rest],
    { stdio: 'inherit', env: process.env },
  );
  let p = 0;
  let f = 0;
  if (existsSync(out)) {
    const results = JSON.parse(readFileSync(out, 'utf8'));
    p = results.numPassedTests ?? 0;
    f = results.numFailedTests ?? 0;
    // A file that failed to load has no tests but must count as a failure.
    for (const file of results.testResults ?? []) {
      if (file.status === 'failed' && (file.assertionResults ?? []).length === 0) f += 1;
    }
  }
  if (run.status !== 0 && f === 0) f = 1;
  if (run.status !== 0) ok = false;
  console.log(`== project ${project}: ${p} ok, ${f} not ok, ${Math.round((Date.now() - started) / 1000)} s ==`);
  passed += p;
  failed += f;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(ok && failed === 0 ? 0 : 1);
