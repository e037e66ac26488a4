// The engine's model on its GPU device, and what happens when that device is lost.
//
// A device can be lost at any time (driver reset, TDR, device.destroy() by other code). Whatever was
// pending on it can only fail: the keeper turns that into a GpuLostError (503: retry) and tells the
// engine, which fails its queued requests with it. Then it loads the model again on a new device
// from the same resolved source (a URL through its cache, a folder or File[] read again), so the
// next request just works. A model on the caller's device cannot be moved: every request then says
// so (recoverable: false). A reload that fails is retried by the next request.

import type { Gpu } from './gpu/context';
import { GpuLostError } from './gpu/errors';
import { loadModel, type LoadedModel, type LoadOptions } from './loading/load_model';
import type { ModelBody } from './models/model';
import type { ClassifierHead } from './pooling/classifier_head';
import type { EmbedHead } from './pooling/head';
import type { TokenEmbedHead } from './pooling/token_head';

/** The parts of a load that live on one device; replaced together when the device is lost. */
export interface OnDevice {
  gpu: Gpu;
  body: ModelBody;
  heads: { embed: EmbedHead; token: TokenEmbedHead; classifier: ClassifierHead | null };
  /** Set when this device was lost: what its pending requests reject with. */
  lost?: GpuLostError;
  /** Set when we destroy it ourselves (dispose): its loss is not news. */
  retired?: boolean;
}

export interface KeeperHooks {
  /** The device of `d` was lost: fail what is pending with `error`. */
  lost(error: GpuLostError): void;
  /** The model runs on a new device now. */
  reloaded(m: LoadedModel): void;
}

export class DeviceKeeper {
  /** The model on its current device. */
  live: OnDevice;
  private recovery: Promise<void> | undefined;
  private disposed = false;

  /** `reloadOptions`: how to load again (null: the caller's device, which cannot be replaced). */
  constructor(
    m: LoadedModel,
    private readonly reloadOptions: LoadOptions | null,
    private readonly hooks: KeeperHooks,
  ) {
    this.live = { gpu: m.gpu, body: m.body, heads: m.heads };
    this.watch(this.live);
  }

  private watch(d: OnDevice): void {
    if (d.gpu.backend !== 'webgpu') return;
    void d.gpu.device.lost.then((info) => {
      if (d.retired || this.disposed) return;
      const recoverable = this.reloadOptions !== null;
      d.lost = new GpuLostError(
        `The GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''}) while this request was pending. ` +
          (recoverable
            ? 'The engine reloads the model on a new device; retry the request.'
            : "The engine ran on the caller's device (EngineOptions.device) and cannot replace it: create a new engine."),
        info.reason,
        recoverable,
      );
      this.hooks.lost(d.lost);
      try {
        d.gpu.destroy();
      } catch {
        // a lost device may refuse; its memory is gone with it anyway
      }
      if (recoverable) void this.recover().catch(() => undefined);
    });
  }

  /** Load the model again on a new device (once at a time). */
  private recover(): Promise<void> {
    this.recovery ??= (async () => {
      try {
        const m = await loadModel(this.reloadOptions!);
        if (this.disposed) {
          m.gpu.destroy();
          return;
        }
        this.live = { gpu: m.gpu, body: m.body, heads: m.heads };
        this.hooks.reloaded(m);
        this.watch(this.live);
      } finally {
        this.recovery = undefined;
      }
    })();
    return this.recovery;
  }

  /** The model on a working device: waits for (or starts) the reload after a loss. */
  async ready(): Promise<OnDevice> {
    while (this.live.lost) {
      if (this.reloadOptions === null) throw this.live.lost;
      try {
        await this.recover();
      } catch (e) {
        throw new GpuLostError(`The GPU device was lost and reloading the model on a new one failed: ${(e as Error).message}`, 'reload-failed', true);
      }
    }
    return this.live;
  }

  /** Stop watching; returns the current device's parts to dispose, or null when it was lost (already freed). */
  async retire(): Promise<OnDevice | null> {
    this.disposed = true;
    await this.recovery?.catch(() => undefined);
    const d = this.live;
    d.retired = true;
    return d.lost ? null : d;
  }
}
