// Deterministic benchmark inputs. Every system must see the same strings, and lengths are what
// decide the cost, so texts are built to an exact token count (special tokens included) with the
// model's own tokenizer: seeded random words until the count is reached, then single-token filler
// (" a") to land exactly, since one random word may split into several WordPiece / BPE tokens.
//
// Workloads (DESIGN.md §6):
//   mixed      32 texts of 8–39 tokens (seeded draw): where padding-free packing pays
//   uniform    32 texts of 24 tokens: padding costs nothing, so only the kernels differ
//   rerank     one query of 12 tokens against the mixed texts as documents (1→N)
//   concurrent single-text requests cycling through the mixed texts
//   batch      the first 1, 2, 4, … mixed texts: latency against batch size

/** Counts tokens as the model's tokenizer does, special tokens included. */
export type TokenCounter = (text: string) => number;

/** Common English words, nearly all single bert-base-uncased tokens. */
const WORDS = [...new Set((
  'the of and to in is was for on that with as by at from his her an were are which this be has had ' +
  'not but they their one all new two first after also can more time other into only some its over ' +
  'most many city may world years state such when where year there about then these made three used ' +
  'between while during under part later both school since well through system people found number ' +
  'called second university several known each because high made work same early area family music ' +
  'water light small large house river power house game team life local field public point early line ' +
  'model data search query answer result short long question language network design common market ' +
  'history science value order record study north south east west service center place group period ' +
  'church film station book early report united album general member series season county national'
).split(' '))];

/** mulberry32: small, fast and the same in every JS engine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One text of exactly `target` tokens (or the shortest possible, if the specials alone exceed it). */
export function textOfLength(target: number, count: TokenCounter, rand: () => number): string {
  let text = '';
  let n = count(text);
  // Words while there is room for a whole word of up to 3 tokens; filler for the rest.
  for (let guard = 0; n < target - 3 && guard < 4 * target; guard++) {
    const next = `${text}${text ? ' ' : ''}${WORDS[Math.floor(rand() * WORDS.length)]}`;
    const m = count(next);
    if (m <= target) {
      text = next;
      n = m;
    }
  }
  while (n < target) {
    const next = `${text}${text ? ' ' : ''}a`;
    const m = count(next);
    if (m <= n) throw new Error(`the tokenizer does not count " a" as a token; cannot build a ${target}-token text`);
    text = next;
    n = m;
  }
  return text;
}

export const MIXED = { count: 32, min: 8, max: 39, seed: 20240601 };
export const UNIFORM = { count: 32, length: 24, seed: 20240602 };
export const RERANK_QUERY = { length: 12, seed: 20240603 };

/** `count` texts with lengths drawn uniformly from [min, max]. */
export function mixedTexts(count: TokenCounter, n = MIXED.count, min = MIXED.min, max = MIXED.max, seed = MIXED.seed): string[] {
  const rand = seededRandom(seed);
  const lengths = Array.from({ length: n }, () => min + Math.floor(rand() * (max - min + 1)));
  return lengths.map((len) => textOfLength(len, count, rand));
}

export function uniformTexts(count: TokenCounter, n = UNIFORM.count, length = UNIFORM.length, seed = UNIFORM.seed): string[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => textOfLength(length, count, rand));
}

export function rerankQuery(count: TokenCounter): string {
  return textOfLength(RERANK_QUERY.length, count, seededRandom(RERANK_QUERY.seed));
}

/** Validate a --texts file's content: a non-empty JSON array of strings. */
export function checkTexts(value: unknown, where: string): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.some((t) => typeof t !== 'string')) {
    throw new Error(`${where} must be a non-empty JSON array of strings`);
  }
  return value as string[];
}
