// Text → token ids over @huggingface/tokenizers (tokenizer.json + tokenizer_config.json), with what
// a pooling server needs on top: text pairs for cross-encoders (with the special tokens and token
// type ids the tokenizer's post-processor defines), per-position sequence ids, and truncation that
// keeps the special tokens, as HF tokenizers (and therefore vLLM) truncate.
//
// Pairs are assembled here rather than by the library's encode(): it treats `text_pair: ""` as "no
// pair", whereas HF's Rust tokenizers give `[CLS] a [SEP] [SEP]`, and a bare ByteLevel post-processor
// would drop the second text. Each text is tokenized on its own, then the tokenizer's own
// post-processor places the special tokens around unique placeholders, which tells us which position
// came from which text.

import { Tokenizer } from '@huggingface/tokenizers';
import { BadRequestError, InternalError, ModelLoadError, WgpoolError, showValue } from '../gpu/errors';
import type { ModelSource } from '../loading/source';

export type TruncationSide = 'left' | 'right';

export interface Encoding {
  ids: number[];
  /** token_type_ids as the post-processor assigns them (all 0 for single texts on most models). */
  typeIds: number[];
  tokens: string[];
  /** Which text each position came from: 0 (text), 1 (pair), null for a special token the post-processor added. */
  sequenceIds: (0 | 1 | null)[];
}

export interface EncodeOptions {
  /** Add the post-processor's special tokens ([CLS] … [SEP], <|endoftext|>, …). Default true. */
  addSpecialTokens?: boolean;
  /** Truncate to at most this many tokens in total, special tokens included (see truncate()). */
  maxTokens?: number;
  /** Which end loses tokens when truncating. Default 'right'. */
  truncationSide?: TruncationSide;
  /**
   * Cap the text tokens of the text and of the pair before special tokens are placed (score's
   * max_tokens_per_query / max_tokens_per_doc); each keeps its first tokens.
   */
  maxTextTokens?: [number | undefined, number | undefined];
}

/** HF writes VERY_LARGE_INTEGER (int(1e30)) as model_max_length when a tokenizer has no limit. */
const NO_LIMIT_SENTINEL = 1e15;

// Private-use code points cannot collide with real special-token strings.
const placeholder = (seq: 0 | 1, i: number) => `\uE000${seq}:${i}\uE001`;

export class TextTokenizer {
  /** The largest input the tokenizer declares (tokenizer_config model_max_length), or Infinity when it declares none. */
  readonly modelMaxLength: number;
  readonly padTokenId: number | undefined;
  /** Ids of every special added token (skipped by decode(ids, true)). */
  readonly specialTokenIds: ReadonlySet<number>;
  private readonly addedIds = new Map<string, number>();
  private readonly unkId: number | undefined;

  private constructor(
    private readonly tok: Tokenizer,
    private readonly config: Record<string, unknown>,
    private readonly tokenizerJson: Record<string, unknown>,
    readonly modelId: string,
  ) {
    const maxLen = config.model_max_length;
    this.modelMaxLength = typeof maxLen === 'number' && Number.isFinite(maxLen) && maxLen > 0 && maxLen < NO_LIMIT_SENTINEL ? Math.floor(maxLen) : Infinity;

    const special = new Set<number>();
    for (const [id, t] of tok.get_added_tokens_decoder()) {
      // Mirrors the library's own token → id lookup: added tokens also match in normalized form.
      this.addedIds.set(t.content, id);
      if (t.normalized && tok.normalizer) this.addedIds.set(tok.normalizer(t.content), id);
      if (t.special) special.add(id);
    }
    this.specialTokenIds = special;
    this.unkId = tok.model?.unk_token_id;
    this.padTokenId = this.resolvePad();
  }

  /**
   * Load tokenizer.json and tokenizer_config.json (optional: an empty config is used when absent),
   * and chat_template.jinja when the model ships its chat template as a file of its own (newer HF
   * checkpoints do; it takes precedence over tokenizer_config's `chat_template`, as in transformers).
   */
  static async load(source: ModelSource, signal?: AbortSignal): Promise<TextTokenizer> {
    const [tokenizerJson, config, chatTemplateFile] = await Promise.all([
      source.json<unknown>('tokenizer.json', signal),
      source.exists('tokenizer_config.json').then((e) => (e ? source.json<unknown>('tokenizer_config.json', signal) : {})),
      source.exists('chat_template.jinja').then((e) => (e ? source.text('chat_template.jinja', signal) : undefined)),
    ]);
    return TextTokenizer.fromJson(tokenizerJson, config, source.id, chatTemplateFile);
  }

  /** Build from the two parsed files. Library construction errors become ModelLoadErrors naming the model. */
  static fromJson(tokenizerJson: unknown, tokenizerConfig: unknown, modelId: string, chatTemplateFile?: string): TextTokenizer {
    const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
    if (!isObject(tokenizerJson)) throw new ModelLoadError(`tokenizer.json of model "${modelId}" is not a JSON object`);
    if (!isObject(tokenizerConfig)) throw new ModelLoadError(`tokenizer_config.json of model "${modelId}" is not a JSON object`);
    let tok: Tokenizer;
    try {
      tok = new Tokenizer(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new ModelLoadError(`tokenizer.json of model "${modelId}" cannot be used: ${(e as Error).message}`);
    }
    let t: TextTokenizer;
    try {
      t = new TextTokenizer(tok, tokenizerConfig, tokenizerJson, modelId);
      // The library builds lazily: a corrupt normalizer / pre-tokenizer / post-processor section
      // may only fail on first use, deep inside it. Encode a probe (single and pair) now, so such a
      // file is a load error naming the model, not a TypeError on some later request.
      t.encode('Probe: ünïcödé text, 123.', 'a pair');
      t.encode('', undefined, { addSpecialTokens: false });
    } catch (e) {
      if (e instanceof WgpoolError && !(e instanceof InternalError)) throw e;
      throw new ModelLoadError(`tokenizer.json of model "${modelId}" cannot be used: it fails on a probe text (${(e as Error)?.message ?? String(e)})`);
    }
    t.chatTemplateFile = chatTemplateFile;
    return t;
  }

  private chatTemplateFile: string | undefined;

  /**
   * The model's chat template: chat_template.jinja, else tokenizer_config's `chat_template` (a
   * string, or a list of `{name, template}` of which `name` is picked — HF's "default" first).
   * Null when the model has none.
   */
  chatTemplate(name = 'default'): string | null {
    if (this.chatTemplateFile !== undefined) return this.chatTemplateFile;
    const t = this.config.chat_template;
    if (typeof t === 'string') return t;
    if (Array.isArray(t)) {
      const hit = t.find((x) => typeof x === 'object' && x !== null && (x as { name?: unknown }).name === name) as { template?: unknown } | undefined;
      return typeof hit?.template === 'string' ? hit.template : null;
    }
    return null;
  }

  /**
   * The special tokens a chat template may use by name (bos_token, eos_token, …), as strings: HF's
   * special_tokens_map, which apply_chat_template passes to the template.
   */
  specialTokensMap(): Record<string, string | string[]> {
    const out: Record<string, string | string[]> = {};
    const text = (v: unknown): string | undefined =>
      typeof v === 'string' ? v : typeof v === 'object' && v !== null && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : undefined;
    for (const k of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
      const v = text(this.config[k]);
      if (v !== undefined) out[k] = v;
    }
    const extra = this.config.additional_special_tokens;
    if (Array.isArray(extra)) out.additional_special_tokens = extra.map(text).filter((x): x is string => x !== undefined);
    return out;
  }

  /** The token strings of one text, no special tokens added. */
  tokenize(text: string): string[] {
    return this.tok.tokenize(text, { add_special_tokens: false });
  }

  /**
   * Encode a text, or a text pair (cross-encoders): special tokens and token type ids as the
   * tokenizer's post-processor defines them. An empty `pair` is a real (empty) second text, as in HF.
   */
  encode(text: string, pair?: string, opts: EncodeOptions = {}): Encoding {
    const [capA, capB] = opts.maxTextTokens ?? [undefined, undefined];
    let enc: Encoding;
    try {
      const a = this.tokenize(text).slice(0, capA ?? Infinity);
      const b = pair === undefined ? null : this.tokenize(pair).slice(0, capB ?? Infinity);
      enc = this.assemble(a, b, opts.addSpecialTokens ?? true);
    } catch (e) {
      // The probe at load passed, so this is the library failing on this input: say which model.
      if (e instanceof WgpoolError) throw e;
      throw new InternalError(`The tokenizer of model "${this.modelId}" failed on this input: ${(e as Error)?.message ?? String(e)}`);
    }
    return opts.maxTokens === undefined ? enc : this.truncate(enc, opts.maxTokens, opts.truncationSide ?? 'right');
  }

  /**
   * Keep at most `maxTokens` tokens, the way HF tokenizers truncate (`truncation=True,
   * max_length=k`, which is what vLLM's truncate_prompt_tokens asks its tokenizer for): special
   * tokens the post-processor added always stay, and the text tokens are cut from `side`. A pair is
   * cut with the "longest_first" split of HF's Rust tokenizers (the fast tokenizers vLLM uses): the
   * longer text shrinks first; when both must shrink each keeps half the room, the odd token going
   * to the longer text (the second on a tie). Why not cut the raw id sequence: with side 'left' that
   * would drop [CLS] (what CLS pooling and the classifier read), and with 'right' the closing [SEP] /
   * <|endoftext|> (what last-token pooling reads).
   *
   * Throws BadRequestError when `maxTokens` leaves no room for the special tokens.
   */
  truncate(enc: Encoding, maxTokens: number, side: TruncationSide = 'right'): Encoding {
    if (!Number.isSafeInteger(maxTokens) || maxTokens < 0) throw new BadRequestError(`maxTokens must be a non-negative integer, got ${showValue(maxTokens)}`);
    if (side !== 'left' && side !== 'right') throw new BadRequestError(`truncation side must be 'left' or 'right', got ${JSON.stringify(side)}`);
    if (enc.ids.length <= maxTokens) return enc;
    const counts = [0, 0];
    let specials = 0;
    for (const s of enc.sequenceIds) {
      if (s === null) specials++;
      else counts[s]++;
    }
    if (maxTokens < specials) {
      throw new BadRequestError(`Cannot truncate to ${maxTokens} tokens: the model's ${specials} special tokens alone need ${specials}.`);
    }
    // A single text is the pair case with an empty second text.
    const keep = longestFirst(counts[0], counts[1], maxTokens - specials);
    // Index of each position within its own text, to decide which positions survive.
    const seen = [0, 0];
    const out: Encoding = { ids: [], typeIds: [], tokens: [], sequenceIds: [] };
    for (let i = 0; i < enc.ids.length; i++) {
      const s = enc.sequenceIds[i];
      if (s !== null) {
        const k = seen[s]++;
        const kept = side === 'right' ? k < keep[s] : k >= counts[s] - keep[s];
        if (!kept) continue;
      }
      out.ids.push(enc.ids[i]);
      out.typeIds.push(enc.typeIds[i]);
      out.tokens.push(enc.tokens[i]);
      out.sequenceIds.push(s);
    }
    return out;
  }

  /** How many special tokens encode() adds to a single text (pair = false) or a pair. */
  numSpecialTokens(pair = false): number {
    return this.assemble([], pair ? [] : null, true).ids.length;
  }

  /** Ids back to text. Ids outside the vocabulary decode as the unknown token, or to nothing when there is none. */
  decode(ids: readonly number[], skipSpecial = false): string {
    // The library rejects an empty list; HF decodes it to "".
    if (ids.length === 0) return '';
    return this.tok.decode([...ids], { skip_special_tokens: skipSpecial });
  }

  /** The id of a token string (vocabulary or added token), or undefined. */
  tokenId(token: string): number | undefined {
    return this.addedIds.get(token) ?? this.tok.token_to_id(token);
  }

  /** The token string of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.tok.id_to_token(id);
  }

  /** Place the post-processor's special tokens around the text tokens, keeping track of where each came from. */
  private assemble(a: string[], b: string[] | null, addSpecial: boolean): Encoding {
    const origin = new Map<string, [0 | 1, string]>();
    const mark = (seq: 0 | 1, toks: string[]) =>
      toks.map((t, i) => {
        const p = placeholder(seq, i);
        origin.set(p, [seq, t]);
        return p;
      });
    const pa = mark(0, a);
    const pb = b === null ? null : mark(1, b);
    let tokens: string[];
    let typeIds: number[] | undefined;
    const post = this.tok.post_processor;
    if (post) {
      const out = post(pa, pb, addSpecial);
      tokens = out.tokens;
      typeIds = out.token_type_ids;
      // A ByteLevel post-processor alone returns the pair untouched; HF then concatenates it.
      if (pb && out.tokens_pair) {
        tokens = [...tokens, ...out.tokens_pair];
        typeIds = undefined;
      }
    } else {
      tokens = pb ? [...pa, ...pb] : pa;
    }
    const enc: Encoding = { ids: [], typeIds: [], tokens: [], sequenceIds: [] };
    tokens.forEach((t, i) => {
      const from = origin.get(t);
      const token = from ? from[1] : t;
      const seq = from ? from[0] : null;
      const id = this.tokenId(token) ?? this.unkId;
      if (id === undefined) {
        throw new ModelLoadError(`tokenizer of model "${this.modelId}" produced token ${JSON.stringify(token)}, which has no id and there is no unknown token`);
      }
      enc.ids.push(id);
      enc.tokens.push(token);
      enc.sequenceIds.push(seq);
      // Without post-processor type ids, HF gives each text its index as type id.
      enc.typeIds.push(typeIds ? typeIds[i] : (seq ?? 0));
    });
    return enc;
  }

  private resolvePad(): number | undefined {
    const pad = this.config.pad_token;
    const content = typeof pad === 'string' ? pad : typeof pad === 'object' && pad !== null ? (pad as { content?: unknown }).content : undefined;
    if (typeof content === 'string') {
      const id = this.tokenId(content);
      if (id !== undefined) return id;
    }
    const padding = this.tokenizerJson.padding as { pad_id?: unknown } | null | undefined;
    return typeof padding?.pad_id === 'number' ? padding.pad_id : undefined;
  }
}

/** How many tokens of each text survive, as tokenizers' (Rust) TruncationStrategy::LongestFirst decides. */
function longestFirst(lenA: number, lenB: number, room: number): [number, number] {
  let n1 = lenA;
  let n2 = lenB;
  const swap = n1 > n2;
  if (swap) [n1, n2] = [n2, n1];
  n2 = n1 > room ? n1 : Math.max(n1, room - n1);
  if (n1 + n2 > room) {
    n1 = Math.floor(room / 2);
    n2 = n1 + (room % 2);
  }
  return swap ? [Math.min(n2, lenA), Math.min(n1, lenB)] : [Math.min(n1, lenA), Math.min(n2, lenB)];
}
