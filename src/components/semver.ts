// A small semver: parse, compare, and match ranges. The `semver` package is only a transitive
// dependency here (not in package.json), so we keep our own rather than lean on it.

export interface SemVer {
  major: number;
  minor: number;
  patch: number;
  pre: string[];
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): SemVer | null {
  const m = VERSION.exec(text.trim());
  if (!m) return null;
  return { major: +m[1]!, minor: +m[2]!, patch: +m[3]!, pre: m[4] ? m[4].split('.') : [] };
}

export function isVersion(text: unknown): text is string {
  return typeof text === 'string' && parseVersion(text) !== null;
}

function mustParse(text: string): SemVer {
  const v = parseVersion(text);
  if (!v) throw new RangeError(`not a semver version: ${text}`);
  return v;
}

/** Negative if a < b, positive if a > b, 0 if equal (build metadata ignored, as semver says). */
export function compareVersions(a: string, b: string): number {
  const x = mustParse(a);
  const y = mustParse(b);
  if (x.major !== y.major) return x.major - y.major;
  if (x.minor !== y.minor) return x.minor - y.minor;
  if (x.patch !== y.patch) return x.patch - y.patch;
  // A release is above any of its pre-releases.
  if (!x.pre.length || !y.pre.length) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn && +p !== +q) return +p - +q;
    if (pn !== qn) return pn ? -1 : 1;
    if (p !== q) return p < q ? -1 : 1;
  }
  return 0;
}

type Comparator = { op: '<' | '<=' | '>' | '>=' | '='; version: string };

function partial(text: string): { parts: number[]; pre: string } {
  const [core, pre = ''] = text.replace(/^v/, '').split('-', 2) as [string, string?];
  const parts: number[] = [];
  for (const p of core.split('.')) {
    if (p === '' || p === 'x' || p === 'X' || p === '*') break;
    if (!/^\d+$/.test(p)) throw new RangeError(`bad version in range: ${text}`);
    parts.push(+p);
  }
  return { parts, pre };
}

function fmt(parts: number[], pre = ''): string {
  const [a = 0, b = 0, c = 0] = parts;
  return `${a}.${b}.${c}${pre ? '-' + pre : ''}`;
}

/** Expands one range term (`^1.2`, `~1.2.3`, `>=1.0.0`, `1.x`, `*`) into comparators. */
function expand(term: string): Comparator[] {
  if (term === '' || term === '*' || term === 'x' || term === 'X') return [];
  const m = /^(\^|~|>=|<=|>|<|=)?\s*(.+)$/.exec(term);
  if (!m) throw new RangeError(`bad range term: ${term}`);
  const op = m[1] ?? '';
  const { parts, pre } = partial(m[2]!);
  const [maj = 0, min = 0, pat = 0] = parts;
  const n = parts.length;
  if (op === '^') {
    const upper = maj > 0 || n < 2 ? [maj + 1] : min > 0 || n < 3 ? [0, min + 1] : [0, 0, pat + 1];
    return [
      { op: '>=', version: fmt(parts, pre) },
      { op: '<', version: fmt(upper) + '-0' },
    ];
  }
  if (op === '~') {
    const upper = n < 2 ? [maj + 1] : [maj, min + 1];
    return [
      { op: '>=', version: fmt(parts, pre) },
      { op: '<', version: fmt(upper) + '-0' },
    ];
  }
  if (op === '' || op === '=') {
    if (n === 3) return [{ op: '=', version: fmt(parts, pre) }];
    if (n === 0) return [];
    const upper = n === 1 ? [maj + 1] : [maj, min + 1];
    return [
      { op: '>=', version: fmt(parts) },
      { op: '<', version: fmt(upper) + '-0' },
    ];
  }
  if (n === 0) return op === '<' || op === '>' ? [{ op: '<', version: '0.0.0-0' }] : [];
  if (op === '>' && n < 3) return [{ op: '>=', version: fmt(n === 1 ? [maj + 1] : [maj, min + 1]) }];
  if (op === '<=' && n < 3) return [{ op: '<', version: fmt(n === 1 ? [maj + 1] : [maj, min + 1]) + '-0' }];
  return [{ op: op as Comparator['op'], version: fmt(parts, pre) }];
}

function test(c: Comparator, version: string): boolean {
  const d = compareVersions(version, c.version);
  switch (c.op) {
    case '<':
      return d < 0;
    case '<=':
      return d <= 0;
    case '>':
      return d > 0;
    case '>=':
      return d >= 0;
    default:
      return d === 0;
  }
}

/** Whether `version` is in `range` (`||` alternatives of space-separated terms; `a - b` hyphen ranges). */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return range.split('||').some((alt) => {
    const trimmed = alt.trim();
    const hyphen = /^(\S+)\s+-\s+(\S+)$/.exec(trimmed);
    const terms = hyphen ? [`>=${hyphen[1]}`, `<=${hyphen[2]}`] : trimmed.split(/\s+/).filter(Boolean);
    const comparators = terms.flatMap((t) => expand(t.replace(/^(\^|~|>=|<=|>|<|=)\s+/, '$1')));
    // Pre-releases match only ranges that name a pre-release of the same major.minor.patch.
    if (v.pre.length) {
      const allowed = comparators.some((c) => {
        const cv = mustParse(c.version);
        return (
          cv.pre.length &&
          cv.pre[0] !== '0' &&
          cv.major === v.major &&
          cv.minor === v.minor &&
          cv.patch === v.patch
        );
      });
      if (!allowed) return false;
    }
    return comparators.every((c) => test(c, version));
  });
}

export function maxVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const v of versions)
    if (isVersion(v) && (best === undefined || compareVersions(v, best) > 0)) best = v;
  return best;
}
