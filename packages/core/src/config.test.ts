import { describe, expect, it } from 'vitest';
import { getNamedConfig, registerNamedConfig } from './config.js';

describe('named configs', () => {
  it('registers named configs per method and suggests names', () => {
    registerNamedConfig({ method: 'm', name: 'fast', doc: '', source: 'test', values: { epochs: 2 } });
    expect(getNamedConfig('m', 'fast').values).toEqual({ epochs: 2 });
    expect(() => getNamedConfig('m', 'fats')).toThrow(/did you mean 'fast'\?/);
    expect(() => registerNamedConfig({ method: 'm', name: 'fast', doc: '', source: 'test', values: { epochs: 3 } })).toThrow(/already registered/);
  });
});
