/**
 * Progress of long transfers (image imports, large diffs): bytes and layers on a cli-progress bar
 * on stderr, drawn only when stderr is a terminal, so scripts and logs never see it.
 */
import { Transform, type Writable } from 'node:stream';
import cliProgress from 'cli-progress';

export interface Progress {
  /** Starts a bar counting to `totalBytes`, and to `totalLayers` layers when that is given. */
  start(label: string, totalBytes: number, totalLayers?: number): void;
  advance(bytes: number): void;
  layerDone(): void;
  stop(): void;
}

/** A stream the bar may draw on; a TTY stream has `isTTY` true (and `columns`). */
export type ProgressStream = Writable & { isTTY?: boolean; columns?: number };

export const noProgress: Progress = {
  start: () => undefined,
  advance: () => undefined,
  layerDone: () => undefined,
  stop: () => undefined,
};

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return unit === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[unit]}`;
}

class Bar implements Progress {
  #bar: cliProgress.SingleBar | undefined;
  #bytes = 0;
  #totalBytes = 0;
  #layers = 0;
  #totalLayers: number | undefined;

  constructor(private readonly stream: ProgressStream) {}

  start(label: string, totalBytes: number, totalLayers?: number): void {
    this.stop();
    this.#bytes = 0;
    this.#layers = 0;
    this.#totalBytes = totalBytes;
    this.#totalLayers = totalLayers;
    const layers = totalLayers === undefined ? '' : ' | layers {layers}/{totalLayers}';
    this.#bar = new cliProgress.SingleBar(
      {
        stream: this.stream,
        format: `{label} [{bar}] {percentage}% | {done}/{size}${layers}`,
        barsize: 24,
        hideCursor: false,
        clearOnComplete: false,
        gracefulExit: false,
      },
      cliProgress.Presets.legacy,
    );
    // cli-progress divides by the total; an empty transfer is simply complete.
    this.#bar.start(Math.max(totalBytes, 1), totalBytes === 0 ? 1 : 0, this.#payload(label));
  }

  advance(bytes: number): void {
    this.#bytes += bytes;
    this.#bar?.update(Math.min(this.#bytes, Math.max(this.#totalBytes, 1)), this.#payload());
  }

  layerDone(): void {
    this.#layers++;
    this.#bar?.update(this.#payload());
  }

  stop(): void {
    if (this.#bar === undefined) return;
    this.#bar.update(this.#payload());
    this.#bar.stop();
    this.#bar = undefined;
  }

  #payload(label?: string): Record<string, string | number> {
    return {
      ...(label !== undefined ? { label } : {}),
      done: formatBytes(this.#bytes),
      size: formatBytes(this.#totalBytes),
      layers: this.#layers,
      totalLayers: this.#totalLayers ?? 0,
    };
  }
}

/** A bar on `stream` when it is a terminal, else nothing at all. */
export function progressBar(stream: ProgressStream = process.stderr): Progress {
  return stream.isTTY === true ? new Bar(stream) : noProgress;
}

/** A pass-through that reports every chunk's size to `progress`. */
export function counting(progress: Progress): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      progress.advance(chunk.length);
      done(null, chunk);
    },
  });
}
