/**
 * @dampl/runtime: what every other package computes on, and depends on nothing of this project's:
 * the compute backend (wasm, cpu, webgpu) and its native kernels (OpenBLAS products, fused CPU
 * kernels in native/), typed config schemas and their hashes, safetensors read and write, seeded
 * random numbers, errors that say what to do, logging and progress, and the run's provenance.
 */
import './ops.js';
export { DamplError, FormatError, ConfigError } from './errors.js';
export {
  BACKENDS, selectBackend, probeBackends, plannedBackend, describeBackend, blasName, backendFamily, type BackendName,
  type BackendChoice, type BackendFamily, type BackendReport, type BackendProbe, type SelectOptions,
  type PackageImporter,
} from './backend.js';
export { kernelReport, kernelLine, productGflops, type KernelReport } from './kernels.js';
export { type AdapterInfo, type WebgpuProbe } from './webgpu.js';
export {
  enableNativeKernels, disableNativeKernels, nativeKernelsActive, nativeOpsActive, nativeOp, type NativeOp,
  nativeBlasError, loadNativeBlas, fmaPeak, type NativeBlasInfo,
} from './native.js';
export {
  SafetensorsFile, readSafetensors, writeSafetensors, serializeSafetensors, type SafeDtype, type SafeTensor,
  type StoredArray, type TensorEntry, type SafetensorsHeader,
} from './safetensors.js';
export { toFloat32, toInt32, f16ToF32, f32ToF16, bf16ToF32, f32ToBf16 } from './float-formats.js';
export { Rng } from './rng.js';
export { createLogger, silentLogger, progress, type Logger, type LogLevel, type Progress, type ProgressOptions } from './log.js';
export { sharedReferenceDir, atomicWriteFile, workspaceRoot } from './fs.js';
export { gitCommit, machineRecord, type MachineRecord } from './provenance.js';
export { stopGradient, matMul, matMulTransposed, readFloat32, takeFloat32 } from './ops.js';
export {
  defineSchema, schemaDefaults, resolveConfig, resolveWithSources, validateConfig, parseConfigPairs, loadConfigFile,
  stableStringify, hashConfig, hashSchemaConfig, closest, describeField, type FieldSpec, type ConfigSchema,
  type ConfigOf, type ConfigLayer,
} from './config.js';
