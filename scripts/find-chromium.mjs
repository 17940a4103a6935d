// Finds a Chromium binary for the end-to-end tests and benchmarks:
// CHROMIUM_PATH, then /usr/bin/chromium, then chromium/chromium-browser/google-chrome on PATH.
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const INSTALL_HINT =
  'No Chromium found. Install one with `sudo apt-get update && sudo apt-get install -y chromium` ' +
  '(Debian/Ubuntu), or set CHROMIUM_PATH=/path/to/chromium.';

export function findChromium(env = process.env) {
  if (env.CHROMIUM_PATH) return existsSync(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : null;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable']) {
      const candidate = join(dir, name);
      if (dir && existsSync(candidate)) return candidate;
    }
  }
  return null;
}
