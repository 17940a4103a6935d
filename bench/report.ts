// Renders bench/REPORT.md from every file under bench/results: a table per benchmark and, for the
// browser comparison, one SVG plot per figure against room size with both systems on it.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { linePlot } from './plot.ts';

const here = dirname(fileURLToPath(import.meta.url));
const results = join(here, 'results');

interface Row {
  system: string;
  tabs: number;
  [figure: string]: unknown;
}

const BROWSER_FIGURES: Array<[string, string]> = [
  ['joinMsP50', 'join p50 (ms)'],
  ['joinMsP99', 'join p99 (ms)'],
  ['serverMessagesPerJoin', 'server frames per join'],
  ['linksPerTabMax', 'links per tab (max)'],
  ['memoryMBPerTab', 'memory per tab (MB PSS)'],
  ['broadcastMsP50', 'broadcast to all p50 (ms)'],
  ['lookupMsP99', 'lookup p99 (ms)'],
];

function table(rows: Array<Record<string, unknown>>): string {
  if (rows.length === 0) return '';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const fmt = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => fmt(r[c])).join(' | ')} |`),
  ].join('\n');
}

export function renderReport(browserRows?: Row[]): string {
  const lines: string[] = [
    '# selfmesh benchmark report',
    '',
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}.`,
    `Written: ${new Date().toISOString()} from the files in bench/results/.`,
    '',
  ];
  const browserFile = join(results, 'browser.json');
  const rows: Row[] = browserRows ?? (existsSync(browserFile) ? (JSON.parse(readFileSync(browserFile, 'utf8')) as Row[]) : []);
  if (rows.length > 0) {
    lines.push('## selfmesh and y-webrtc in real Chromium tabs', '');
    lines.push('Both systems run in the same Chromium with the same signaling server code; y-webrtc with a Y.Doc a tab and WebRTC forced between tabs.', '');
    for (const [key, label] of BROWSER_FIGURES) {
      const series = ['selfmesh', 'y-webrtc'].map((system) => ({
        name: system,
        points: rows.filter((r) => r.system === system && typeof r[key] === 'number').map((r) => [r.tabs, r[key] as number] as [number, number]),
      })).filter((s) => s.points.length > 0);
      if (series.length === 0) continue;
      const file = `browser-${key}.svg`;
      writeFileSync(join(results, file), linePlot({ title: label, xLabel: 'tabs in the room', yLabel: label, series }));
      lines.push(`![${label}](results/${file})`, '');
    }
    lines.push(table(rows), '');
  }
  for (const file of readdirSync(results).filter((f) => f.endsWith('.json') && f !== 'browser.json').sort()) {
    const data = JSON.parse(readFileSync(join(results, file), 'utf8')) as unknown;
    lines.push(`## ${file.replace(/\.json$/, '')}`, '');
    const svg = file.replace(/\.json$/, '.svg');
    if (existsSync(join(results, svg))) lines.push(`![${svg}](results/${svg})`, '');
    lines.push(table(Array.isArray(data) ? (data as Array<Record<string, unknown>>) : [data as Record<string, unknown>]), '');
  }
  const text = lines.join('\n');
  writeFileSync(join(here, 'REPORT.md'), text);
  return text;
}

export async function run(): Promise<{ written: string }> {
  renderReport();
  return { written: 'bench/REPORT.md' };
}
