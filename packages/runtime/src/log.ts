/**
 * Logging and progress. A Logger writes leveled lines to stderr (results go to stdout or files);
 * `progress` draws a cli-progress bar with rate and ETA on a terminal and falls back to a
 * line every few seconds when stderr is not a TTY (CI logs).
 */
import cliProgress from 'cli-progress';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  level: LogLevel;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** A child logger whose lines carry `[scope]`. */
  child(scope: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  scope?: string;
  /** Where lines go; defaults to stderr. Tests pass an array collector. */
  sink?: (line: string) => void;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const make = (scope: string | undefined): Logger => {
    const logger: Logger = {
      level: opts.level ?? 'info',
      debug: (m) => emit('debug', m),
      info: (m) => emit('info', m),
      warn: (m) => emit('warn', m),
      error: (m) => emit('error', m),
      child: (s) => {
        const c = make(scope ? `${scope}:${s}` : s);
        c.level = logger.level;
        return c;
      },
    };
    function emit(level: Exclude<LogLevel, 'silent'>, msg: string): void {
      if (RANK[level] < RANK[logger.level]) return;
      const tag = level === 'info' ? '' : `${level.toUpperCase()} `;
      sink(`${tag}${scope ? `[${scope}] ` : ''}${msg}`);
    }
    return logger;
  };
  return make(opts.scope);
}

/** A logger that drops everything. */
export const silentLogger: Logger = createLogger({ level: 'silent' });

export interface Progress {
  /** Advance by `n` units (default 1), optionally updating the label. */
  tick(n?: number, label?: string): void;
  /** Set an absolute position. */
  update(value: number, label?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  title: string;
  /** Unit name for the rate column, e.g. "img" gives "12.3 img/s". */
  unit?: string;
  /** Start position (for resumed work). */
  start?: number;
  /** Force a mode; defaults to a bar when stderr is a TTY and not in CI. */
  mode?: 'bar' | 'lines' | 'off';
  /** Seconds between lines in `lines` mode. */
  every?: number;
  sink?: (line: string) => void;
}

function fmtEta(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export function progress(opts: ProgressOptions): Progress {
  const unit = opts.unit ?? 'it';
  const mode = opts.mode ?? (process.stderr.isTTY && !process.env.CI ? 'bar' : 'lines');
  const t0 = performance.now();
  const start = opts.start ?? 0;
  let value = start;
  let label = '';
  const rate = (): number => (value - start) / Math.max(1e-9, (performance.now() - t0) / 1000);
  if (mode === 'off') {
    return { tick: (n = 1) => { value += n; }, update: (v) => { value = v; }, stop: () => {} };
  }
  if (mode === 'bar') {
    const bar = new cliProgress.SingleBar({
      format: `${opts.title} [{bar}] {value}/{total} {rate} ${unit}/s ETA {eta_h} {label}`,
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 50,
    }, cliProgress.Presets.shades_classic);
    bar.start(opts.total, start, { rate: '0.0', eta_h: '?', label: '' });
    const payload = () => {
      const r = rate();
      return { rate: r.toFixed(1), eta_h: fmtEta((opts.total - value) / r), label };
    };
    return {
      tick: (n = 1, l) => { value += n; if (l !== undefined) label = l; bar.update(value, payload()); },
      update: (v, l) => { value = v; if (l !== undefined) label = l; bar.update(value, payload()); },
      stop: () => bar.stop(),
    };
  }
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const every = (opts.every ?? 10) * 1000;
  let last = 0;
  const report = (force = false) => {
    const now = performance.now();
    if (!force && now - last < every) return;
    last = now;
    const r = rate();
    sink(`${opts.title}: ${value}/${opts.total} ${r.toFixed(1)} ${unit}/s ETA ${fmtEta((opts.total - value) / r)}${label ? ' ' + label : ''}`);
  };
  return {
    tick: (n = 1, l) => { value += n; if (l !== undefined) label = l; report(value >= opts.total); },
    update: (v, l) => { value = v; if (l !== undefined) label = l; report(value >= opts.total); },
    stop: () => {},
  };
}
