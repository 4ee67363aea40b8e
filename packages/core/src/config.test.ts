import { describe, expect, it } from 'vitest';
import { getNamedConfig, namedValueSource, registerNamedConfig } from './config.js';

describe('named configs', () => {
  it('registers named configs per method and suggests names', () => {
    registerNamedConfig({ method: 'm', name: 'fast', doc: '', source: 'test', values: { epochs: 2 } });
    expect(getNamedConfig('m', 'fast').values).toEqual({ epochs: 2 });
    expect(() => getNamedConfig('m', 'fats')).toThrow(/did you mean 'fast'\?/);
    expect(() => registerNamedConfig({ method: 'm', name: 'fast', doc: '', source: 'test', values: { epochs: 3 } })).toThrow(/already registered/);
  });

  it('gives each value its own source, else the config\'s, and refuses a source for a key it does not set', () => {
    const c = { method: 'm', name: 'sourced', doc: '', source: 'a paper', backbone: 'RN50', values: { epochs: 2, lr: 0.1 }, sources: { lr: 'a yaml, OPTIM.LR' } };
    registerNamedConfig(c);
    expect(namedValueSource(getNamedConfig('m', 'sourced'), 'lr')).toBe('a yaml, OPTIM.LR');
    expect(namedValueSource(getNamedConfig('m', 'sourced'), 'epochs')).toBe('a paper');
    expect(getNamedConfig('m', 'sourced').backbone).toBe('RN50');
    expect(() => registerNamedConfig({ ...c, name: 'stray', sources: { momentum: 'x' } })).toThrow(/gives a source for 'momentum', which it does not set/);
    expect(() => registerNamedConfig({ ...c, name: 'blank', backbone: ' ' })).toThrow(/empty backbone/);
  });
});
