// WordNet 3.0 as the reverse dictionary needs it: the most frequent lemmas (cntlist.rev: SemCor tag
// counts per sense), each with the glosses of its most frequent senses, and the held-out synsets of
// tools/train-demo-models/data.py (same seeded hash), so app tests can ask descriptions the embedder
// never saw in training. Read from the Debian package wordnet-base (/usr/share/wordnet).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const WORDNET = '/usr/share/wordnet';
const POS_FILES = { n: 'data.noun', v: 'data.verb', a: 'data.adj', r: 'data.adv' } as const;
/** Sense-key synset type digits (WordNet's senseidx(5WN)). */
const SS_TYPE: Record<string, number> = { n: 1, v: 2, a: 3, r: 4, s: 5 };
const POS_OF_SS_TYPE = ['', 'n', 'v', 'a', 'r', 'a'];
const HELD_OUT_PERCENT = 5;

export interface Synset {
  /** `${file pos}${offset}`, as data.py keys it (satellites keep the file's 'a'). */
  key: string;
  pos: 'n' | 'v' | 'a' | 'r';
  /** Lemma texts: underscores are spaces, adjective markers dropped (data.py's lemma_text). */
  lemmas: string[];
  /** The definition part of the gloss (examples dropped), as data.py's "gloss". */
  gloss: string;
  heldOut: boolean;
}

export interface Lemma {
  /** The lemma as written, lowercased (the text the embedder was trained to map descriptions to). */
  text: string;
  /** SemCor tag count over all its senses. */
  count: number;
  /** Its senses' glosses, most frequent first: [part of speech, gloss]. */
  senses: [string, string][];
}

export const lemmaText = (w: string) => w.replace(/\((a|p|ip)\)$/, '').replace(/_/g, ' ');

/** data.py's held_out(): sha1 of "seed:key", 5 in 100. */
export function heldOut(key: string, seed = 0): boolean {
  const hex = createHash('sha1').update(`${seed}:${key}`).digest('hex');
  return BigInt(`0x${hex}`) % 100n < BigInt(HELD_OUT_PERCENT);
}

interface Parsed {
  synsets: Synset[];
  /** Sense key without the trailing head fields for non-satellites → synset. */
  bySenseKey: Map<string, Synset>;
}

export function parseWordNet(root = WORDNET): Parsed {
  const synsets: Synset[] = [];
  const raw: { s: Synset; ssType: string; lexFile: string; words: [string, number][]; head: string | null }[] = [];
  const byOffset = new Map<string, (typeof raw)[number]>();
  for (const [pos, file] of Object.entries(POS_FILES)) {
    for (const line of readFileSync(join(root, file), 'latin1').split('\n')) {
      if (!line || line.startsWith('  ')) continue; // license header
      const bar = line.indexOf(' | ');
      const t = line.slice(0, bar).split(' ');
      const [offset, lexFile, ssType] = t;
      const n = parseInt(t[3], 16);
      const words: [string, number][] = [];
      for (let i = 0; i < n; i++) words.push([t[4 + 2 * i], parseInt(t[5 + 2 * i], 16)]);
      let k = 4 + 2 * n;
      const nPtr = Number(t[k]);
      let head: string | null = null;
      for (let i = 0; i < nPtr; i++) {
        const [sym, off, ppos] = t.slice(k + 1 + 4 * i, k + 4 + 4 * i);
        if (sym === '&' && ssType === 's' && ppos === 'a' && head === null) head = off;
      }
      k += 1 + 4 * nPtr;
      const parts = line.slice(bar + 3).trim().split('; ').map((p) => p.trim());
      const gloss = parts.filter((p) => !p.startsWith('"')).join('; ').trim();
      const key = `${pos}${offset}`;
      const s: Synset = { key, pos: pos as Synset['pos'], lemmas: words.map(([w]) => lemmaText(w)), gloss, heldOut: heldOut(key) };
      synsets.push(s);
      const r = { s, ssType, lexFile, words, head };
      raw.push(r);
      if (pos === 'a') byOffset.set(offset, r);
    }
  }
  // Sense keys: lemma%ss_type:lex_filenum:lex_id:head_word:head_id (senseidx(5WN)).
  const bySenseKey = new Map<string, Synset>();
  const two = (x: number) => String(x).padStart(2, '0');
  for (const r of raw) {
    let tail = '::';
    if (r.ssType === 's' && r.head) {
      const h = byOffset.get(r.head);
      if (h) tail = `:${h.words[0][0].replace(/\((a|p|ip)\)$/, '').toLowerCase()}:${two(h.words[0][1])}`;
    }
    for (const [w, lexId] of r.words) {
      const lemma = w.replace(/\((a|p|ip)\)$/, '').toLowerCase();
      bySenseKey.set(`${lemma}%${SS_TYPE[r.ssType]}:${r.lexFile}:${two(lexId)}${tail}`, r.s);
    }
  }
  return { synsets, bySenseKey };
}

/** The `limit` lemmas with the highest SemCor counts (ties alphabetical), with their top glosses. */
export function frequentLemmas(parsed: Parsed, limit: number, glossesPerLemma = 2, root = WORDNET): Lemma[] {
  const byLemma = new Map<string, { count: number; senses: { count: number; pos: string; synset: Synset | undefined }[] }>();
  for (const line of readFileSync(join(root, 'cntlist.rev'), 'latin1').split('\n')) {
    if (!line.trim()) continue;
    const [senseKey, , cnt] = line.split(' ');
    const lemma = senseKey.slice(0, senseKey.indexOf('%'));
    const ssType = Number(senseKey[senseKey.indexOf('%') + 1]);
    const e = byLemma.get(lemma) ?? { count: 0, senses: [] };
    e.count += Number(cnt);
    e.senses.push({ count: Number(cnt), pos: POS_OF_SS_TYPE[ssType], synset: parsed.bySenseKey.get(senseKey) });
    byLemma.set(lemma, e);
  }
  // A few cntlist keys name no WordNet 3.0 sense ("n't", "such as"): not lemmas, so skipped.
  return [...byLemma]
    .filter(([, e]) => e.senses.some((s) => s.synset?.gloss))
    .sort((a, b) => b[1].count - a[1].count || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([lemma, e]) => {
      const senses: [string, string][] = [];
      for (const s of [...e.senses].sort((a, b) => b.count - a.count)) {
        if (!s.synset?.gloss || senses.some(([, g]) => g === s.synset!.gloss)) continue;
        if (senses.length < glossesPerLemma) senses.push([s.pos, s.synset.gloss]);
      }
      return { text: lemmaText(lemma), count: e.count, senses };
    });
}
