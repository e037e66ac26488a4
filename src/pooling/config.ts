// How a model turns token states into one vector, decided from its files: the sentence-transformers
// pipeline in modules.json (Transformer → Pooling → Dense* → Normalize), the Pooling module's
// config.json, prompts from config_sentence_transformers.json and max_seq_length from
// sentence_bert_config.json. Without modules.json the architecture decides (BERT family: CLS,
// decoders: last token) and `normalize` is true, because vLLM's embed task L2-normalizes by default.
//
// A pipeline this runtime cannot reproduce exactly (several pooling modes concatenated, weighted
// mean, unknown modules, Normalize before Dense) is refused with the reason, never approximated.

import { ModelLoadError } from '../gpu/errors';
import type { ModelSource } from '../loading/source';
import { DECODER_FAMILIES, type ModelConfig } from '../models/config';

export type PoolingMode = 'cls' | 'mean' | 'max' | 'last' | 'mean_sqrt_len';

/** A sentence-transformers Dense module: out = activation(W · x + b), applied after pooling. */
export interface DenseModule {
  /** Folder of the module inside the model (its weights are `${path}/model.safetensors`). */
  path: string;
  in_features: number;
  out_features: number;
  bias: boolean;
  /** Torch class name, e.g. "torch.nn.modules.activation.Tanh" or "torch.nn.modules.linear.Identity". */
  activation_function: string;
}

export interface PoolingConfig {
  mode: PoolingMode;
  normalize: boolean;
  origin: 'sentence-transformers' | 'architecture-default';
  /** Prompt name → text prepended to inputs (config_sentence_transformers.json). */
  prompts: Record<string, string>;
  defaultPromptName: string | null;
  /** Whether prompt tokens take part in pooling (Pooling include_prompt; default true). */
  includePrompt: boolean;
  /** Dense modules between pooling and normalize, in order. */
  dense: DenseModule[];
  /** sentence_bert_config.json max_seq_length: sentence-transformers truncates inputs to it. */
  maxSeqLength: number | null;
  /** sentence_bert_config.json do_lower_case: sentence-transformers lowercases inputs first. */
  doLowerCase: boolean;
}

const ST = 'sentence_transformers.models.';
const MODULE_KINDS = ['Transformer', 'Pooling', 'Dense', 'Normalize'] as const;
type ModuleKind = (typeof MODULE_KINDS)[number];

/** Pooling config.json flag → mode. Several true at once means concatenation in sentence-transformers. */
const MODE_FLAGS: Record<string, PoolingMode> = {
  pooling_mode_cls_token: 'cls',
  pooling_mode_mean_tokens: 'mean',
  pooling_mode_max_tokens: 'max',
  pooling_mode_mean_sqrt_len_tokens: 'mean_sqrt_len',
  pooling_mode_lasttoken: 'last',
};
const WEIGHTED_MEAN = 'pooling_mode_weightedmean_tokens';

/** The older `pooling_mode` string form of the Pooling config. */
const MODE_NAMES: Record<string, PoolingMode> = { cls: 'cls', mean: 'mean', max: 'max', mean_sqrt_len_tokens: 'mean_sqrt_len', lasttoken: 'last' };

/** The pooling an architecture uses when the model has no sentence-transformers files. */
export function architectureDefaultPooling(config: ModelConfig): PoolingMode {
  return DECODER_FAMILIES.includes(config.family) ? 'last' : 'cls';
}

export async function resolvePoolingConfig(source: ModelSource, config: ModelConfig, signal?: AbortSignal): Promise<PoolingConfig> {
  const fail = (file: string, msg: string) => new ModelLoadError(`${file} of model "${source.id}": ${msg}`);
  const [prompts, sbert] = await Promise.all([readPrompts(source, fail, signal), readSbertConfig(source, fail, signal)]);
  const base = { ...prompts, ...sbert };

  if (!(await source.exists('modules.json'))) {
    return { mode: architectureDefaultPooling(config), normalize: true, origin: 'architecture-default', includePrompt: true, dense: [], ...base };
  }
  const modules = parseModules(await source.json('modules.json', signal), (m) => fail('modules.json', m));

  const pooling = modules.filter((m) => m.kind === 'Pooling');
  if (pooling.length > 1) throw fail('modules.json', `has ${pooling.length} Pooling modules; only one is supported`);
  // Order the runtime reproduces: pool → dense → (matryoshka slice) → normalize.
  const order: ModuleKind[] = modules.map((m) => m.kind);
  const at = (k: ModuleKind) => order.indexOf(k);
  const lastAt = (k: ModuleKind) => order.lastIndexOf(k);
  if (at('Transformer') > 0) throw fail('modules.json', 'the Transformer module must come first');
  if (at('Dense') >= 0 && (at('Pooling') < 0 || at('Dense') < at('Pooling'))) throw fail('modules.json', 'Dense before Pooling is not supported');
  if (at('Normalize') >= 0 && (at('Normalize') < at('Pooling') || at('Normalize') < lastAt('Dense'))) {
    throw fail('modules.json', 'Normalize must come after Pooling and Dense');
  }
  if (order.filter((k) => k === 'Normalize').length > 1) throw fail('modules.json', 'has more than one Normalize module');

  let mode = architectureDefaultPooling(config);
  let includePrompt = true;
  if (pooling.length === 1) {
    const file = joinPath(pooling[0].path, 'config.json');
    const parsed = parsePoolingModule(await source.json(file, signal), (m) => fail(file, m), config.hidden_size);
    mode = parsed.mode;
    includePrompt = parsed.includePrompt;
  }

  const dense: DenseModule[] = [];
  let width = config.hidden_size;
  for (const m of modules.filter((x) => x.kind === 'Dense')) {
    const file = joinPath(m.path, 'config.json');
    const d = parseDense(await source.json(file, signal), m.path, (msg) => fail(file, msg));
    if (d.in_features !== width) throw fail(file, `in_features ${d.in_features} does not match the ${width} features coming in`);
    width = d.out_features;
    dense.push(d);
  }

  return {
    mode,
    normalize: at('Normalize') >= 0,
    // Without a Pooling module, sentence-transformers has no pooling to tell us.
    origin: pooling.length === 1 ? 'sentence-transformers' : 'architecture-default',
    includePrompt,
    dense,
    ...base,
  };
}

type Fail = (msg: string) => ModelLoadError;

interface StModule {
  kind: ModuleKind;
  path: string;
}

function parseModules(json: unknown, fail: Fail): StModule[] {
  if (!Array.isArray(json)) throw fail('must be a list of modules');
  const entries = json.map((m, i) => {
    if (typeof m !== 'object' || m === null) throw fail(`entry ${i} is not an object`);
    const { type, path, idx } = m as { type?: unknown; path?: unknown; idx?: unknown };
    if (typeof type !== 'string') throw fail(`entry ${i} has no "type"`);
    if (typeof path !== 'string') throw fail(`entry ${i} (${type}) has no "path"`);
    const kind = type.startsWith(ST) ? MODULE_KINDS.find((k) => type === ST + k) : undefined;
    if (!kind) {
      throw fail(`module type "${type}" is not supported (supported: ${MODULE_KINDS.map((k) => ST + k).join(', ')})`);
    }
    return { kind, path: path.replace(/^\.?\/+|\/+$/g, ''), idx: typeof idx === 'number' ? idx : i };
  });
  return entries.sort((a, b) => a.idx - b.idx).map(({ kind, path }) => ({ kind, path }));
}

function parsePoolingModule(json: unknown, fail: Fail, hidden: number): { mode: PoolingMode; includePrompt: boolean } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('is not a JSON object');
  const cfg = json as Record<string, unknown>;
  for (const key of [...Object.keys(MODE_FLAGS), WEIGHTED_MEAN, 'include_prompt']) {
    if (cfg[key] !== undefined && typeof cfg[key] !== 'boolean') throw fail(`"${key}" must be true or false, got ${JSON.stringify(cfg[key])}`);
  }
  const dim = cfg.word_embedding_dimension;
  if (dim !== undefined && dim !== hidden) throw fail(`word_embedding_dimension ${JSON.stringify(dim)} does not match hidden_size ${hidden}`);
  if (cfg[WEIGHTED_MEAN] === true) throw fail(`${WEIGHTED_MEAN} is not supported`);

  const on = Object.keys(MODE_FLAGS).filter((k) => cfg[k] === true);
  let mode: PoolingMode;
  if (on.length > 1) {
    throw fail(`several pooling modes are enabled (${on.join(', ')}); sentence-transformers concatenates them, which is not supported`);
  } else if (on.length === 1) {
    mode = MODE_FLAGS[on[0]];
  } else if (typeof cfg.pooling_mode === 'string') {
    if (cfg.pooling_mode === 'weightedmean') throw fail('pooling_mode "weightedmean" is not supported');
    const m = MODE_NAMES[cfg.pooling_mode];
    if (!m) throw fail(`pooling_mode "${cfg.pooling_mode}" is not supported (supported: ${Object.keys(MODE_NAMES).join(', ')})`);
    mode = m;
  } else {
    throw fail(`enables no pooling mode (set one of ${Object.keys(MODE_FLAGS).join(', ')})`);
  }
  return { mode, includePrompt: cfg.include_prompt !== false };
}

function parseDense(json: unknown, path: string, fail: Fail): DenseModule {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('is not a JSON object');
  const cfg = json as Record<string, unknown>;
  const int = (k: string) => {
    const v = cfg[k];
    if (!Number.isSafeInteger(v) || (v as number) <= 0) throw fail(`"${k}" must be a positive integer, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const bias = cfg.bias ?? true;
  if (typeof bias !== 'boolean') throw fail(`"bias" must be true or false, got ${JSON.stringify(bias)}`);
  const act = cfg.activation_function ?? 'torch.nn.modules.activation.Tanh';
  if (typeof act !== 'string') throw fail(`"activation_function" must be a string, got ${JSON.stringify(act)}`);
  return { path, in_features: int('in_features'), out_features: int('out_features'), bias, activation_function: act };
}

async function readPrompts(
  source: ModelSource,
  fail: (file: string, msg: string) => ModelLoadError,
  signal?: AbortSignal,
): Promise<Pick<PoolingConfig, 'prompts' | 'defaultPromptName'>> {
  const file = 'config_sentence_transformers.json';
  if (!(await source.exists(file))) return { prompts: {}, defaultPromptName: null };
  const json = await source.json<Record<string, unknown>>(file, signal);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail(file, 'is not a JSON object');
  const prompts = json.prompts ?? {};
  if (typeof prompts !== 'object' || prompts === null || Array.isArray(prompts) || Object.values(prompts).some((p) => typeof p !== 'string')) {
    throw fail(file, `"prompts" must be an object of name → prompt text, got ${JSON.stringify(prompts)}`);
  }
  const name = json.default_prompt_name ?? null;
  if (name !== null && (typeof name !== 'string' || !Object.hasOwn(prompts, name))) {
    throw fail(file, `default_prompt_name ${JSON.stringify(name)} is not one of the prompts (${Object.keys(prompts).join(', ') || 'none'})`);
  }
  return { prompts: { ...(prompts as Record<string, string>) }, defaultPromptName: name };
}

async function readSbertConfig(
  source: ModelSource,
  fail: (file: string, msg: string) => ModelLoadError,
  signal?: AbortSignal,
): Promise<Pick<PoolingConfig, 'maxSeqLength' | 'doLowerCase'>> {
  const file = 'sentence_bert_config.json';
  if (!(await source.exists(file))) return { maxSeqLength: null, doLowerCase: false };
  const json = await source.json<Record<string, unknown>>(file, signal);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail(file, 'is not a JSON object');
  const max = json.max_seq_length ?? null;
  if (max !== null && (!Number.isSafeInteger(max) || (max as number) <= 0)) throw fail(file, `"max_seq_length" must be a positive integer, got ${JSON.stringify(max)}`);
  const lower = json.do_lower_case ?? false;
  if (typeof lower !== 'boolean') throw fail(file, `"do_lower_case" must be true or false, got ${JSON.stringify(lower)}`);
  return { maxSeqLength: max as number | null, doLowerCase: lower };
}

function joinPath(dir: string, file: string): string {
  return dir ? `${dir}/${file}` : file;
}
