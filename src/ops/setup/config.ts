/**
 * `snap config`: settings saved in the root's catalog (table `config`): the retention policy
 * (`keep.last`, `keep.daily`, ...), so that the cron line can stay `snap take <root>` and still
 * apply a calendar policy, and the take's own settings (`take.max-shrink`). Which keys exist,
 * what they take and their defaults: the registry in src/ops/shared/settings.ts. See
 * docs/retention.md and docs/cli-everyday.md.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Catalog } from '../../catalog/catalog.js';
import { openRoot, withLockedRoot } from '../shared/root.js';
import { recover } from '../shared/recover.js';
import type { RetentionPolicy } from '../retention/policy.js';
import { effectivePolicy, type PolicySource } from '../retention/saved-policy.js';
import { checkSettingKey, listSettings, parseSettingInput, type ListedSetting } from '../shared/settings.js';
import { LATEST } from '../../store/layout.js';
import { SnapError } from '../../errors.js';

export type { PolicySource, ListedSetting };

export interface ConfigResult {
  /** Every saved setting, by key. */
  settings: Record<string, string>;
  /** The policy `snap take` (without --keep) and `snap prune` (without options) apply. */
  policy: RetentionPolicy;
  policySource: Exclude<PolicySource, 'options'>;
  /** Keys this call set or removed. */
  changed: string[];
  /**
   * Listing only (readConfig): every setting linksnap knows, with the value that applies, where
   * it comes from and what it means. A change reports just what it saved.
   */
  known?: ListedSetting[];
}

function describe(catalog: Catalog, changed: string[]): ConfigResult {
  const { policy, source } = effectivePolicy(catalog);
  return { settings: Object.fromEntries(catalog.getConfig()), policy, policySource: source, changed };
}

/** Read and list the settings without taking the lock. */
export function readConfig(rootArg: string): ConfigResult {
  const root = openRoot(rootArg, { readonly: true });
  try {
    return { ...describe(root.catalog, []), known: listSettings(root.catalog.getConfig()) };
  } finally {
    root.close();
  }
}

export interface ConfigChange {
  set?: readonly { key: string; value: string }[];
  unset?: readonly string[];
  waitMs?: number;
}

/** Set and unset keys in one transaction; every key and value is checked before anything changes. */
export async function writeConfig(rootArg: string, change: ConfigChange): Promise<ConfigResult> {
  const set = (change.set ?? []).map(({ key, value }) => parseSettingInput(key, value));
  const unset = (change.unset ?? []).map(checkSettingKey);
  const both = set.map((s) => s.key).filter((k) => unset.includes(k));
  if (both.length) throw new SnapError('USAGE', `${both[0]} is both set and unset`);

  // Settings may be saved before the first take, but only in a folder that is a backup root.
  const create = fs.existsSync(path.join(rootArg, LATEST));
  return withLockedRoot(rootArg, 'config', { waitMs: change.waitMs, create }, async (root) => {
    await recover(root);
    const { catalog } = root;
    catalog.transaction(() => {
      for (const { key, text } of set) catalog.setConfig(key, text);
      for (const key of unset) catalog.setConfig(key, undefined);
    });
    return describe(catalog, [...set.map((s) => s.key), ...unset]);
  });
}
