// `npm run bench -- <name> [--json] [...]`: runs bench/<name>.ts, prints its result, and writes
// bench/results/<name>.json. Each benchmark module exports `run(args: string[]): Promise<unknown>`
// and may write its own plot next to the JSON.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...rest] = process.argv.slice(2);
const json = rest.includes('--json');
const args = rest.filter((a) => a !== '--json');
const USAGE = 'usage: npm run bench -- <link|overlay|storage|swap|browser|report> [--json]';

if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error(USAGE);
  process.exit(2);
}
if (!existsSync(join(here, `${name}.ts`))) {
  console.error(`no benchmark "${name}"\n${USAGE}`);
  process.exit(2);
}
const mod = (await import(join(here, `${name}.ts`))) as { run(args: string[]): Promise<unknown> };
let result: unknown;
try {
  result = await mod.run(args);
} catch (e) {
  // A refused option (a RangeError) is said plainly, and nothing is written; anything else is a bug.
  if (!(e instanceof RangeError)) throw e;
  console.error(`bench ${name}: ${e.message}`);
  process.exit(2);
}
// The report is rendered from the results; it is not one of them.
if (name !== 'report') {
  mkdirSync(join(here, 'results'), { recursive: true });
  writeFileSync(join(here, 'results', `${name}.json`), JSON.stringify(result, null, 2) + '\n');
}
console.log(json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
process.exit(0);
