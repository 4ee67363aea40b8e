/**
 * Base class of every error this project raises on purpose. The message says what went wrong
 * and what to do next; `hint` repeats the next step for callers that format errors themselves.
 */
export class DamplError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n  -> ${hint}` : message);
    this.name = new.target.name;
  }
}

/** A file that does not have the format it claims (safetensors header, model file, list file). */
export class FormatError extends DamplError {}

/** A requested compute backend that cannot be used on this machine. */
export class BackendUnavailableError extends DamplError {}

/** A configuration value or key that is not accepted. */
export class ConfigError extends DamplError {}
