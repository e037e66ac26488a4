// Split documents into passages for the index: paragraphs (blank-line separated), long ones cut at
// sentence ends near `maxChars` (280: about 64 tokens, what the WordNet embedder reads); each
// passage keeps its source name and position (passage number and character offset), so results
// can say where they came from.

export interface Passage {
  id: string;
  text: string;
  source: string;
  /** 0-based passage number within the source. */
  index: number;
  /** Character offset of the passage in the source text. */
  offset: number;
}

export function splitPassages(source: string, text: string, maxChars = 280): Passage[] {
  const out: Passage[] = [];
  const para = /\S[\s\S]*?(?=\n\s*\n|$)/g;
  for (let m = para.exec(text); m; m = para.exec(text)) {
    let chunk = m[0].replace(/^#+\s*/, '').trim();
    let offset = m.index;
    while (chunk.length > 0) {
      let cut = chunk.length;
      if (cut > maxChars) {
        const end = chunk.lastIndexOf('. ', maxChars);
        cut = end > maxChars / 3 ? end + 1 : maxChars;
      }
      const piece = chunk.slice(0, cut).trim();
      if (piece) out.push({ id: `${source}#${out.length}`, text: piece.replace(/\s+/g, ' '), source, index: out.length, offset });
      offset += cut;
      chunk = chunk.slice(cut).trimStart();
    }
  }
  return out;
}

/** The query's words (3+ letters) wrapped in <mark>, the rest HTML-escaped. */
export function highlight(text: string, query: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
  const words = [...new Set(query.toLowerCase().match(/[\p{L}\p{N}]{3,}/gu) ?? [])];
  if (!words.length) return esc(text);
  const re = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'giu');
  return text.split(re).map((part, i) => (i % 2 ? `<mark>${esc(part)}</mark>` : esc(part))).join('');
}
