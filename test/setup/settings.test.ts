/**
 * The settings registry (src/ops/shared/settings.ts): the kinds' checks and canonical text, the
 * value that applies (saved, else default), and the listing `snap config` prints.
 */
import { describe, expect, it } from 'vitest';
import {
  SETTINGS,
  booleanKind,
  durationKind,
  integerKind,
  listSettings,
  parseSettingInput,
  percentKind,
  readSetting,
  textKind,
  type SettingKind,
} from '../../src/ops/shared/settings.js';
import { RULES } from '../../src/ops/retention/policy.js';

const canon = <T>(kind: SettingKind<T>, text: string): string | undefined => {
  const v = kind.parse(text);
  return v === undefined ? undefined : kind.format(v);
};

describe('settings registry: kinds', () => {
  it('integers: whole numbers in range, saved without leading zeros', () => {
    const k = integerKind(1);
    expect(k.what).toBe('a positive integer');
    expect(['7', '007', '9007199254740991'].map((t) => canon(k, t))).toEqual(['7', '7', '9007199254740991']);
    for (const bad of ['0', '-1', '1.5', '', ' 3', 'x', '1e3', '9007199254740992']) expect(k.parse(bad), bad).toBeUndefined();
    const r = integerKind(-5, 5);
    expect([r.parse('-5'), r.parse('5'), r.parse('6')]).toEqual([-5, 5, undefined]);
    expect(r.what).toBe('an integer from -5 to 5');
  });

  it('percentages: 0 to 100, with or without %, decimals allowed', () => {
    expect(['30', '30%', '0', '100%', '12.5', '050'].map((t) => canon(percentKind, t))).toEqual(['30', '30', '0', '100', '12.5', '50']);
    for (const bad of ['101', '-1', '%', '30 %', 'half', '']) expect(percentKind.parse(bad), bad).toBeUndefined();
  });

  it('booleans: true/false, yes/no, on/off, 1/0, saved as true or false', () => {
    expect(['true', 'YES', 'on', '1'].map((t) => canon(booleanKind, t))).toEqual(['true', 'true', 'true', 'true']);
    expect(['false', 'No', 'off', '0'].map((t) => canon(booleanKind, t))).toEqual(['false', 'false', 'false', 'false']);
    expect(booleanKind.parse('maybe')).toBeUndefined();
  });

  it('durations: ms, s, m, h, d (plain numbers are seconds), saved in the largest exact unit', () => {
    expect(['90', '90s', '1.5m', '120m', '1d', '250ms', '0', '1500ms'].map((t) => canon(durationKind, t))).toEqual(['90s', '90s', '90s', '2h', '1d', '250ms', '0ms', '1500ms']);
    expect(durationKind.parse('2h')).toBe(7_200_000);
    for (const bad of ['', '5w', '-1s', 's', '1 h']) expect(durationKind.parse(bad), bad).toBeUndefined();
  });

  it('text: one line, not empty, kept as given', () => {
    expect(canon(textKind, '/usr/local/bin/mount-check --quiet')).toBe('/usr/local/bin/mount-check --quiet');
    for (const bad of ['', 'a\nb', 'a\rb', 'a\0b']) expect(textKind.parse(bad)).toBeUndefined();
  });
});

describe('settings registry: keys', () => {
  it('has one keep.* key per retention rule', () => {
    expect(Object.keys(SETTINGS).filter((k) => k.startsWith('keep.'))).toEqual(RULES.map((r) => `keep.${r}`));
  });

  it('checks input and gives the canonical text; unknown keys and bad values are usage errors naming the key', () => {
    expect(parseSettingInput('take.max-shrink', '30%')).toEqual({ key: 'take.max-shrink', text: '30' });
    expect(parseSettingInput('keep.daily', '007')).toEqual({ key: 'keep.daily', text: '7' });
    expect(() => parseSettingInput('colour', 'blue')).toThrow(expect.objectContaining({ code: 'USAGE', message: "unknown setting 'colour'", hint: expect.stringContaining('take.max-shrink') }));
    expect(() => parseSettingInput('take.max-shrink', '150')).toThrow(
      expect.objectContaining({ code: 'USAGE', message: "take.max-shrink must be a percentage from 0 to 100, got '150'", hint: 'to go back to the default (50): snap config <root> --unset take.max-shrink' }),
    );
    expect(() => parseSettingInput('keep.daily', '0')).toThrow(expect.objectContaining({ code: 'USAGE', message: "keep.daily must be a positive integer, got '0'" }));
  });

  it('reads the saved value, else the default; a damaged saved value is a catalog error naming the key', () => {
    expect(readSetting(new Map(), 'take.max-shrink')).toBe(50);
    expect(readSetting(new Map([['take.max-shrink', '80']]), 'take.max-shrink')).toBe(80);
    expect(readSetting(new Map(), 'keep.daily')).toBeUndefined();
    expect(() => readSetting(new Map([['take.max-shrink', 'lots']]), 'take.max-shrink')).toThrow(
      expect.objectContaining({ code: 'CATALOG', message: 'the saved setting take.max-shrink="lots" is not a percentage from 0 to 100', hint: 'fix it: snap config <root> take.max-shrink=<percent>  (or --unset take.max-shrink)' }),
    );
  });

  it('lists every key with the value that applies and where it comes from', () => {
    const listed = listSettings(new Map([['keep.daily', '7'], ['someone.elses', 'x']]));
    expect(listed.map((s) => s.key)).toEqual(Object.keys(SETTINGS));
    expect(listed.find((s) => s.key === 'keep.daily')).toMatchObject({ value: '7', source: 'saved' });
    expect(listed.find((s) => s.key === 'keep.last')).toEqual({ key: 'keep.last', description: 'keep the newest n snapshots', source: 'unset' });
    expect(listed.find((s) => s.key === 'take.max-shrink')).toMatchObject({ value: '50', source: 'default', default: '50' });
    expect(listSettings(new Map([['take.max-shrink', '80']])).find((s) => s.key === 'take.max-shrink')).toMatchObject({ value: '80', source: 'saved', default: '50' });
  });
});
