/**
 * The settings a root saves in its catalog (table `config`, `snap config <root> key=value`):
 * one registry entry per key says what it means, which values it takes and its default.
 * `snap config` accepts, checks and lists exactly these keys; the commands read their values
 * through `readSetting`. Adding a setting is adding one entry to SETTINGS (with a kind below).
 *
 * Values are saved as canonical text (what the kind's `format` gives), so `keep.daily=007` is
 * saved as `7`. A saved value that does not parse (only possible by editing the catalog by hand)
 * is reported as a damaged catalog, never guessed at.
 */
import { SnapError } from '../../errors.js';

/** How a setting's text is checked, turned into a value, and saved. */
export interface SettingKind<T> {
  /** What a valid value is, for messages: "a positive integer". */
  what: string;
  /** Stands for a value in hints: `<n>`. */
  placeholder: string;
  /** The value, or undefined when the text is not a valid value. */
  parse(text: string): T | undefined;
  /** The canonical text saved in the catalog. */
  format(value: T): string;
}

export interface Setting<T> {
  kind: SettingKind<T>;
  /** One line for `snap config` and its help. */
  description: string;
  /** What applies when the key is not saved; none means the setting is simply off. */
  default?: T;
}

const formatNumber = (n: number) => String(n);

/** A whole number in [min, max]. */
export function integerKind(min: number, max = Number.MAX_SAFE_INTEGER): SettingKind<number> {
  const what = min === 1 && max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from ${min} to ${max}`;
  return {
    what,
    placeholder: '<n>',
    parse: (text) => {
      if (!/^-?\d+$/.test(text)) return undefined;
      const n = Number(text);
      return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
    },
    format: formatNumber,
  };
}

/** A share from 0 to 100, written `30` or `30%` (decimals allowed), saved without the `%`. */
export const percentKind: SettingKind<number> = {
  what: 'a percentage from 0 to 100',
  placeholder: '<percent>',
  parse: (text) => {
    const m = /^(\d+(?:\.\d+)?)%?$/.exec(text);
    if (!m) return undefined;
    const n = Number(m[1]);
    return n <= 100 ? n : undefined;
  },
  format: formatNumber,
};

const TRUE = new Set(['true', 'yes', 'on', '1']);
const FALSE = new Set(['false', 'no', 'off', '0']);

/** true/false (also yes/no, on/off, 1/0), saved as `true` or `false`. */
export const booleanKind: SettingKind<boolean> = {
  what: 'true or false',
  placeholder: 'true|false',
  parse: (text) => (TRUE.has(text.toLowerCase()) ? true : FALSE.has(text.toLowerCase()) ? false : undefined),
  format: (v) => String(v),
};

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A length of time, `90s`, `5m`, `2h`, `1d`, `250ms` (plain numbers are seconds); the value is in ms. */
export const durationKind: SettingKind<number> = {
  what: 'a duration such as 30s, 5m, 2h or 1d',
  placeholder: '<duration>',
  parse: (text) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text);
    if (!m) return undefined;
    const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
    return Number.isSafeInteger(ms) ? ms : undefined;
  },
  // The largest unit that shows the value exactly: 90000 → 90s, 7200000 → 2h.
  format: (ms) => {
    for (const unit of ['d', 'h', 'm', 's'] as const) if (ms !== 0 && ms % UNIT_MS[unit]! === 0) return `${ms / UNIT_MS[unit]!}${unit}`;
    return `${ms}ms`;
  },
};

/** A duration longer than zero (a timeout). */
export const positiveDurationKind: SettingKind<number> = {
  ...durationKind,
  what: 'a duration longer than zero such as 90s, 10m or 1h',
  parse: (text) => {
    const ms = durationKind.parse(text);
    return ms !== undefined && ms > 0 ? ms : undefined;
  },
};

/** Free text on one line (a command, a pattern), not empty. */
export const textKind: SettingKind<string> = {
  what: 'text on one line',
  placeholder: '<text>',
  parse: (text) => (text.length > 0 && !/[\n\r\0]/.test(text) ? text : undefined),
  format: (v) => v,
};

/** File names separated by commas (`.nobackup,.nosnap`), each without '/'; saved as given, without spaces around the commas. */
export const nameListKind: SettingKind<string[]> = {
  what: 'file names separated by commas',
  placeholder: '<name>[,<name>…]',
  parse: (text) => {
    const names = text.split(',').map((n) => n.trim());
    return names.every((n) => n !== '' && n !== '.' && n !== '..' && !/[/\n\r\0]/.test(n)) ? names : undefined;
  },
  format: (v) => v.join(','),
};

const positiveInteger = integerKind(1);

/** Every setting linksnap knows, in the order `snap config` lists them. */
export const SETTINGS = {
  // The retention policy (docs/retention.md): one key per rule of src/ops/retention/policy.ts.
  'keep.last': { kind: positiveInteger, description: 'keep the newest n snapshots' },
  'keep.hourly': { kind: positiveInteger, description: 'keep the newest snapshot of each of the last n hours that have one' },
  'keep.daily': { kind: positiveInteger, description: 'keep the newest snapshot of each of the last n days that have one' },
  'keep.weekly': { kind: positiveInteger, description: 'keep the newest snapshot of each of the last n ISO weeks that have one' },
  'keep.monthly': { kind: positiveInteger, description: 'keep the newest snapshot of each of the last n months that have one' },
  'keep.yearly': { kind: positiveInteger, description: 'keep the newest snapshot of each of the last n years that have one' },
  'take.max-shrink': {
    kind: percentKind,
    default: 50,
    description: "refuse a take whose source lost more than this % of the last snapshot's files or bytes; 100 turns it off",
  },
  'take.one-file-system': { kind: booleanKind, description: 'do not descend into other file systems below .latest (a mount point is kept as an empty folder)' },
  'take.exclude-caches': { kind: booleanKind, description: 'leave out the contents of folders holding a valid CACHEDIR.TAG (the tag file is kept)' },
  'take.exclude-if-present': { kind: nameListKind, description: 'leave out the contents of folders holding a file of one of these names (the marker is kept)' },
  'take.xattrs': { kind: booleanKind, default: false, description: 'record extended attributes and ACLs (as take --xattrs does)' },
  'take.skip-unchanged': { kind: booleanKind, description: 'make no new snapshot (and rotate nothing) when nothing changed since the newest one' },
  // The take's hooks (docs/operations.md, "Hooks"): shell commands run with /bin/sh -c.
  'hooks.pre': { kind: textKind, description: 'command run before the take reads .latest (it may fill it); if it fails, nothing is taken' },
  'hooks.post': { kind: textKind, description: 'command run after the snapshot is published and rotation is done (gets LINKSNAP_SNAPSHOT)' },
  'hooks.failure': { kind: textKind, description: 'command run when a take fails (gets LINKSNAP_EXIT and LINKSNAP_ERROR)' },
  'hooks.timeout': { kind: positiveDurationKind, default: 3_600_000, description: 'how long each hook may run before it is killed' },
} satisfies Record<string, Setting<number> | Setting<boolean> | Setting<string> | Setting<string[]>>;

export type SettingKey = keyof typeof SETTINGS;
type ValueOf<K extends SettingKey> = (typeof SETTINGS)[K] extends Setting<infer T> ? T : never;
/** A setting with a default always has a value; one without may be off. */
type ReadValue<K extends SettingKey> = (typeof SETTINGS)[K] extends { default: unknown } ? ValueOf<K> : ValueOf<K> | undefined;

function isSettingKey(key: string): key is SettingKey {
  return Object.hasOwn(SETTINGS, key);
}

function settingOf(key: SettingKey): Setting<unknown> {
  return SETTINGS[key] as Setting<unknown>;
}

/** Check a key given by the user (e.g. to --unset it); throws a usage error for an unknown one. */
export function checkSettingKey(key: string): SettingKey {
  if (!isSettingKey(key)) throw new SnapError('USAGE', `unknown setting '${key}'`, { hint: `known keys: ${Object.keys(SETTINGS).join(', ')}` });
  return key;
}

/** Check a key=value given by the user; returns the canonical text to save. */
export function parseSettingInput(key: string, text: string): { key: SettingKey; text: string } {
  const k = checkSettingKey(key);
  const s = settingOf(k);
  const value = s.kind.parse(text);
  if (value === undefined) {
    const back = s.default === undefined ? 'to remove the setting' : `to go back to the default (${s.kind.format(s.default)})`;
    throw new SnapError('USAGE', `${k} must be ${s.kind.what}, got '${text}'`, { hint: `${back}: snap config <root> --unset ${k}` });
  }
  return { key: k, text: s.kind.format(value) };
}

/** The saved value of a key as its kind reads it (undefined when not saved); damaged text is a catalog error. */
function savedValue(saved: ReadonlyMap<string, string>, key: SettingKey): unknown {
  const text = saved.get(key);
  if (text === undefined) return undefined;
  const s = settingOf(key);
  const value = s.kind.parse(text);
  if (value === undefined) {
    throw new SnapError('CATALOG', `the saved setting ${key}=${JSON.stringify(text)} is not ${s.kind.what}`, {
      hint: `fix it: snap config <root> ${key}=${s.kind.placeholder}  (or --unset ${key})`,
    });
  }
  return value;
}

/** The value that applies: the saved one, else the default (else undefined: the setting is off). */
export function readSetting<K extends SettingKey>(saved: ReadonlyMap<string, string>, key: K): ReadValue<K> {
  const value = savedValue(saved, key);
  return (value === undefined ? settingOf(key).default : value) as ReadValue<K>;
}

export interface ListedSetting {
  key: SettingKey;
  description: string;
  /** The value that applies, as text; absent when the setting is unset and has no default. */
  value?: string;
  source: 'saved' | 'default' | 'unset';
  /** The default, as text, for settings that have one. */
  default?: string;
}

/** Every known setting with the value that applies and where it comes from, in registry order. */
export function listSettings(saved: ReadonlyMap<string, string>): ListedSetting[] {
  return (Object.keys(SETTINGS) as SettingKey[]).map((key) => {
    const s = settingOf(key);
    const value = savedValue(saved, key);
    const def = s.default === undefined ? {} : { default: s.kind.format(s.default) };
    if (value !== undefined) return { key, description: s.description, value: s.kind.format(value), source: 'saved' as const, ...def };
    if (s.default !== undefined) return { key, description: s.description, value: s.kind.format(s.default), source: 'default' as const, ...def };
    return { key, description: s.description, source: 'unset' as const };
  });
}
