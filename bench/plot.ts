// A small dependency-free SVG line plot for benchmark reports.

export interface Series {
  name: string;
  points: Array<[number, number]>;
}

export interface LinePlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  width?: number;
  height?: number;
}

const COLOURS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function linePlot(options: LinePlotOptions): string {
  const width = options.width ?? 640;
  const height = options.height ?? 400;
  const m = { left: 60, right: 150, top: 40, bottom: 50 };
  const all = options.series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const tx = (x: number) => (options.logX ? Math.log10(x) : x);
  const xs = all.map(([x]) => tx(x));
  const ys = all.map(([, y]) => y);
  const [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  const [y0, y1] = [0, ys.length ? Math.max(...ys) * 1.1 || 1 : 1];
  const px = (x: number) => m.left + ((tx(x) - x0) / (x1 - x0 || 1)) * (width - m.left - m.right);
  const py = (y: number) => height - m.bottom - ((y - y0) / (y1 - y0 || 1)) * (height - m.top - m.bottom);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${width / 2}" y="20" text-anchor="middle" font-size="14">${esc(options.title)}</text>`);
  out.push(`<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>`);
  out.push(`<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="black"/>`);
  const xTicks = [...new Set(all.map(([x]) => x))].sort((a, b) => a - b);
  for (const x of xTicks) {
    out.push(`<line x1="${px(x)}" y1="${height - m.bottom}" x2="${px(x)}" y2="${height - m.bottom + 5}" stroke="black"/>`);
    out.push(`<text x="${px(x)}" y="${height - m.bottom + 18}" text-anchor="middle">${x}</text>`);
  }
  for (let i = 0; i <= 5; i++) {
    const y = y0 + ((y1 - y0) * i) / 5;
    out.push(`<line x1="${m.left - 5}" y1="${py(y)}" x2="${m.left}" y2="${py(y)}" stroke="black"/>`);
    out.push(`<text x="${m.left - 8}" y="${py(y) + 4}" text-anchor="end">${Number(y.toFixed(1))}</text>`);
  }
  out.push(`<text x="${(m.left + width - m.right) / 2}" y="${height - 10}" text-anchor="middle">${esc(options.xLabel)}${options.logX ? ' (log scale)' : ''}</text>`);
  out.push(`<text transform="translate(15 ${(m.top + height - m.bottom) / 2}) rotate(-90)" text-anchor="middle">${esc(options.yLabel)}</text>`);
  options.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const pts = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)).sort((a, b) => a[0] - b[0]);
    out.push(`<polyline fill="none" stroke="${colour}" stroke-width="2" points="${pts.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(' ')}"/>`);
    for (const [x, y] of pts) out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${colour}"/>`);
    const ly = m.top + 20 * i;
    out.push(`<line x1="${width - m.right + 10}" y1="${ly}" x2="${width - m.right + 30}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`);
    out.push(`<text x="${width - m.right + 35}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
