// Minimal SVG charts for the benchmark page (no dependencies): horizontal bars and x/y lines.

export const COLORS: Record<string, string> = {
  wgpool: '#1f77b4',
  wgpool_node: '#17becf',
  wgpool_cpu: '#2ca02c',
  wgpool_cpu_node: '#98df8a',
  transformersjs_webgpu: '#d62728',
  transformersjs_wasm: '#ff7f0e',
  transformersjs_node: '#8c564b',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function num(x: number): string {
  const a = Math.abs(x);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : a >= 1 ? x.toFixed(2) : x.toPrecision(2);
}

export interface Bar {
  label: string;
  value: number;
  color?: string;
  /** Text after the value, e.g. "×3.1". */
  note?: string;
}

export function barChart(title: string, unit: string, bars: Bar[]): string {
  const W = 760;
  const rowH = 26;
  const left = 190;
  const right = 250;
  const top = 28;
  const H = top + bars.length * rowH + 10;
  const max = Math.max(...bars.map((b) => b.value), 1e-12);
  const rows = bars
    .map((b, i) => {
      const y = top + i * rowH;
      const w = ((W - left - right) * b.value) / max;
      return (
        `<text x="${left - 6}" y="${y + 17}" text-anchor="end">${esc(b.label)}</text>` +
        `<rect x="${left}" y="${y + 4}" width="${Math.max(w, 1)}" height="${rowH - 8}" fill="${b.color ?? '#888'}"/>` +
        `<text x="${left + w + 6}" y="${y + 17}">${num(b.value)} ${esc(unit)}${b.note ? ` ${esc(b.note)}` : ''}</text>`
      );
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><text x="0" y="16" font-weight="bold">${esc(title)}</text>${rows}</svg>`;
}

export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
}

/** Lines over a log2 x axis (batch sizes, caller counts) and a linear y axis from 0. */
export function lineChart(title: string, xLabel: string, yLabel: string, series: Series[]): string {
  const W = 640;
  const H = 300;
  const m = { l: 60, r: 150, t: 28, b: 40 };
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  if (xs.length === 0) return '';
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const yMax = Math.max(...ys, 1e-12) * 1.05;
  const lx = (x: number) => Math.log2(x);
  const x0 = lx(xs[0]);
  const x1 = Math.max(lx(xs[xs.length - 1]), x0 + 1);
  const px = (x: number) => m.l + ((lx(x) - x0) / (x1 - x0)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - (y / yMax) * (H - m.t - m.b);
  let g = `<line x1="${m.l}" y1="${H - m.b}" x2="${W - m.r}" y2="${H - m.b}" stroke="#444"/><line x1="${m.l}" y1="${m.t}" x2="${m.l}" y2="${H - m.b}" stroke="#444"/>`;
  for (const x of xs) g += `<text x="${px(x)}" y="${H - m.b + 15}" text-anchor="middle">${x}</text>`;
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    g += `<text x="${m.l - 6}" y="${py(y) + 4}" text-anchor="end">${num(y)}</text><line x1="${m.l}" y1="${py(y)}" x2="${W - m.r}" y2="${py(y)}" stroke="#ddd"/>`;
  }
  g += `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">${esc(xLabel)}</text>`;
  g += `<text x="12" y="${(m.t + H - m.b) / 2}" transform="rotate(-90 12 ${(m.t + H - m.b) / 2})" text-anchor="middle">${esc(yLabel)}</text>`;
  series.forEach((s, i) => {
    const c = s.color ?? '#888';
    const pts = s.points.map(([x, y]) => `${px(x)},${py(y)}`).join(' ');
    g += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${pts}"/>`;
    g += s.points.map(([x, y]) => `<circle cx="${px(x)}" cy="${py(y)}" r="3" fill="${c}"><title>${esc(s.name)} ${x}: ${num(y)}</title></circle>`).join('');
    g += `<rect x="${W - m.r + 10}" y="${m.t + i * 18}" width="12" height="12" fill="${c}"/><text x="${W - m.r + 26}" y="${m.t + i * 18 + 10}">${esc(s.name)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12"><text x="0" y="16" font-weight="bold">${esc(title)}</text>${g}</svg>`;
}
