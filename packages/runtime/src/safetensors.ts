/**
 * safetensors (https://github.com/huggingface/safetensors) read and write.
 *
 * Layout: u64 little-endian header length N, N bytes of UTF-8 JSON, then the data section.
 * The JSON maps tensor names to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative
 * to the data section) plus an optional `__metadata__` map of strings.
 *
 * Files are opened lazily: only the header is read on open and each tensor is read from its
 * own byte range, so multi-GB checkpoints never sit in one buffer. Every header is validated
 * before any tensor is returned.
 */
import { open, rename, rm, type FileHandle } from 'node:fs/promises';
import { FormatError } from './errors.js';

export type SafeDtype =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3'
  | 'I16' | 'U16' | 'F16' | 'BF16'
  | 'I32' | 'U32' | 'F32'
  | 'F64' | 'I64' | 'U64';

/** Bytes per element of each dtype. */
export const DTYPE_BYTES: Readonly<Record<SafeDtype, number>> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2,
  I32: 4, U32: 4, F32: 4,
  F64: 8, I64: 8, U64: 8,
};

/** The typed array that holds a tensor's elements as stored (F16/BF16 as raw 16-bit words). */
export type StoredArray =
  | Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array
  | Int8Array | Uint8Array | BigInt64Array | BigUint64Array;

export interface SafeTensor {
  dtype: SafeDtype;
  shape: number[];
  data: StoredArray;
}

export interface TensorEntry {
  name: string;
  dtype: SafeDtype;
  shape: number[];
  /** Byte range within the data section. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  entries: Map<string, TensorEntry>;
  metadata: Record<string, string>;
  /** Byte offset of the data section in the file (8 + header length). */
  dataStart: number;
}

/** Header lengths above this are refused (the reference implementation uses the same cap). */
const MAX_HEADER_BYTES = 100_000_000;

const isDtype = (s: unknown): s is SafeDtype => typeof s === 'string' && s in DTYPE_BYTES;

/**
 * Parses and validates a header: every dtype known, shapes of non-negative integers, byte length
 * equal to elements times dtype size, offsets inside the data section, no two tensors overlapping.
 */
function parseHeader(json: Buffer | string, dataBytes: number, where = 'safetensors file'): SafetensorsHeader {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof json === 'string' ? json : json.toString('utf8'));
  } catch (e) {
    throw new FormatError(`${where}: header is not valid JSON (${(e as Error).message})`,
      'the file is corrupt or not a safetensors file; re-download or re-export it');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new FormatError(`${where}: header is not a JSON object`, 'the file is corrupt or not a safetensors file');
  }
  const entries = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (value === null || typeof value !== 'object' || Array.isArray(value)
        || Object.values(value).some((v) => typeof v !== 'string')) {
        throw new FormatError(`${where}: __metadata__ must map strings to strings`);
      }
      metadata = value as Record<string, string>;
      continue;
    }
    const v = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (v === null || typeof v !== 'object') throw new FormatError(`${where}: entry '${name}' is not an object`);
    if (!isDtype(v.dtype)) {
      throw new FormatError(`${where}: tensor '${name}' has unknown dtype ${JSON.stringify(v.dtype)}`,
        `supported dtypes: ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new FormatError(`${where}: tensor '${name}' has an invalid shape ${JSON.stringify(v.shape)}`);
    }
    const off = v.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) {
      throw new FormatError(`${where}: tensor '${name}' has invalid data_offsets ${JSON.stringify(off)}`);
    }
    const [begin, end] = off as [number, number];
    const elements = (v.shape as number[]).reduce((a, b) => a * b, 1);
    const expected = elements * DTYPE_BYTES[v.dtype];
    if (end - begin !== expected) {
      throw new FormatError(`${where}: tensor '${name}' (${v.dtype} [${(v.shape as number[]).join(', ')}]) needs ${expected} bytes but its offsets span ${end - begin}`,
        'the header disagrees with itself; the file is corrupt');
    }
    if (end > dataBytes) {
      throw new FormatError(`${where}: tensor '${name}' ends at byte ${end} of a data section of ${dataBytes} bytes`,
        'the file is truncated; re-download or re-export it');
    }
    entries.set(name, { name, dtype: v.dtype, shape: v.shape as number[], begin, end });
  }
  const sorted = [...entries.values()].sort((a, b) => a.begin - b.begin || a.end - b.end);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.begin < prev.end) {
      throw new FormatError(`${where}: tensors '${prev.name}' and '${cur.name}' overlap (bytes ${prev.begin}-${prev.end} and ${cur.begin}-${cur.end})`,
        'the file is corrupt');
    }
  }
  return { entries, metadata, dataStart: 0 };
}

function readHeaderLength(prefix: Buffer, fileBytes: number, where: string): number {
  if (fileBytes < 8) throw new FormatError(`${where}: ${fileBytes} bytes is too short for a safetensors file`, 'the file is truncated or empty');
  const n = prefix.readBigUInt64LE(0);
  if (n > BigInt(MAX_HEADER_BYTES)) {
    throw new FormatError(`${where}: header length ${n} is implausible`, 'the file is corrupt or not a safetensors file');
  }
  if (Number(n) + 8 > fileBytes) {
    throw new FormatError(`${where}: header of ${n} bytes does not fit in a file of ${fileBytes} bytes`, 'the file is truncated');
  }
  return Number(n);
}

/** Views `bytes` (exactly one tensor's data) as the typed array of its dtype, copying to align. */
function bytesToArray(dtype: SafeDtype, bytes: Uint8Array): StoredArray {
  const width = DTYPE_BYTES[dtype];
  const aligned = bytes.byteOffset % width === 0 ? bytes : new Uint8Array(bytes);
  const { buffer, byteOffset } = aligned;
  const n = bytes.byteLength / width;
  switch (dtype) {
    case 'F32': return new Float32Array(buffer, byteOffset, n);
    case 'F64': return new Float64Array(buffer, byteOffset, n);
    case 'I32': return new Int32Array(buffer, byteOffset, n);
    case 'U32': return new Uint32Array(buffer, byteOffset, n);
    case 'I16': return new Int16Array(buffer, byteOffset, n);
    case 'U16': case 'F16': case 'BF16': return new Uint16Array(buffer, byteOffset, n);
    case 'I8': return new Int8Array(buffer, byteOffset, n);
    case 'I64': return new BigInt64Array(buffer, byteOffset, n);
    case 'U64': return new BigUint64Array(buffer, byteOffset, n);
    default: return new Uint8Array(buffer, byteOffset, n);
  }
}


/** A safetensors file opened for lazy, validated reads. Close it when done. */
export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    readonly header: SafetensorsHeader,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      const prefix = Buffer.alloc(8);
      await fh.read(prefix, 0, Math.min(8, size), 0);
      const n = readHeaderLength(prefix, size, path);
      const json = Buffer.alloc(n);
      await fh.read(json, 0, n, 8);
      const header = parseHeader(json, size - 8 - n, path);
      header.dataStart = 8 + n;
      return new SafetensorsFile(path, fh, header);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  get names(): string[] {
    return [...this.header.entries.keys()];
  }

  get metadata(): Record<string, string> {
    return this.header.metadata;
  }

  entry(name: string): TensorEntry {
    const e = this.header.entries.get(name);
    if (!e) throw new FormatError(`${this.path}: no tensor named '${name}'`, `it holds ${this.names.length} tensors, e.g. ${this.names.slice(0, 5).join(', ')}`);
    return e;
  }

  /** Reads one tensor's raw bytes. */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const buf = Buffer.alloc(e.end - e.begin);
    const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.header.dataStart + e.begin);
    if (bytesRead !== buf.length) throw new FormatError(`${this.path}: tensor '${name}' is cut short`, 'the file is truncated');
    return buf;
  }

  async read(name: string): Promise<SafeTensor> {
    const e = this.entry(name);
    return { dtype: e.dtype, shape: [...e.shape], data: bytesToArray(e.dtype, await this.readBytes(name)) };
  }

  async readAll(): Promise<Map<string, SafeTensor>> {
    const out = new Map<string, SafeTensor>();
    for (const name of this.names) out.set(name, await this.read(name));
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** Reads a whole file: its tensors and metadata. */
export async function readSafetensors(path: string): Promise<{ tensors: Map<string, SafeTensor>; metadata: Record<string, string> }> {
  const f = await SafetensorsFile.open(path);
  try {
    return { tensors: await f.readAll(), metadata: f.metadata };
  } finally {
    await f.close();
  }
}

/** Parses a safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array, where = 'safetensors buffer'): { tensors: Map<string, SafeTensor>; metadata: Record<string, string> } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = readHeaderLength(buf.subarray(0, 8), buf.length, where);
  const header = parseHeader(buf.subarray(8, 8 + n), buf.length - 8 - n, where);
  const tensors = new Map<string, SafeTensor>();
  for (const e of header.entries.values()) {
    tensors.set(e.name, { dtype: e.dtype, shape: [...e.shape], data: bytesToArray(e.dtype, buf.subarray(8 + n + e.begin, 8 + n + e.end)) });
  }
  return { tensors, metadata: header.metadata };
}

function checkTensor(name: string, t: SafeTensor): void {
  if (!isDtype(t.dtype)) throw new FormatError(`tensor '${name}': unknown dtype ${String(t.dtype)}`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (t.data.byteLength !== n * DTYPE_BYTES[t.dtype]) {
    throw new FormatError(`tensor '${name}': ${t.dtype} [${t.shape.join(', ')}] needs ${n * DTYPE_BYTES[t.dtype]} bytes, its data has ${t.data.byteLength}`);
  }
}

/** Builds the header bytes (padded with spaces to a multiple of 8, as the reference writer does). */
function buildHeader(tensors: Iterable<[string, SafeTensor]>, metadata?: Record<string, string>): { header: Buffer; order: [string, SafeTensor][] } {
  const obj: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) obj.__metadata__ = metadata;
  const order = [...tensors];
  let offset = 0;
  for (const [name, t] of order) {
    checkTensor(name, t);
    obj[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(obj);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const body = Buffer.from(json, 'utf8');
  const header = Buffer.alloc(8 + body.length);
  header.writeBigUInt64LE(BigInt(body.length), 0);
  body.copy(header, 8);
  return { header, order };
}

/** Serialises tensors to one buffer (small files; use writeSafetensors for large ones). */
export function serializeSafetensors(tensors: Record<string, SafeTensor> | Map<string, SafeTensor>, metadata?: Record<string, string>): Buffer {
  const { header, order } = buildHeader(tensors instanceof Map ? tensors : Object.entries(tensors), metadata);
  return Buffer.concat([header, ...order.map(([, t]) => Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength))]);
}

/**
 * Writes tensors to `path` atomically: streamed tensor by tensor into `path.tmp-<pid>`, flushed,
 * then renamed over `path`, so a crash never leaves a half-written file under the real name.
 */
export async function writeSafetensors(path: string, tensors: Record<string, SafeTensor> | Map<string, SafeTensor>, metadata?: Record<string, string>): Promise<void> {
  const { header, order } = buildHeader(tensors instanceof Map ? tensors : Object.entries(tensors), metadata);
  const tmp = `${path}.tmp-${process.pid}`;
  const fh = await open(tmp, 'w');
  try {
    await fh.write(header);
    for (const [, t] of order) await fh.write(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}
