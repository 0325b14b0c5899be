/**
 * The retention policy saved in a root's catalog (`snap config <root> keep.daily=7 ...`), and
 * the policy that applies when none is given on the command line. The keys, their meaning and
 * their checks live in the settings registry (src/ops/shared/settings.ts).
 */
import type { Catalog } from '../../catalog/catalog.js';
import { DEFAULT_POLICY, RULES, isEmptyPolicy, type RetentionPolicy, type Rule } from './policy.js';
import { readSetting, type SettingKey } from '../shared/settings.js';

export type PolicySource = 'options' | 'saved' | 'default';

/** The saved key of a rule: `keep.daily`. Every rule has one (the registry's type checks it). */
const keyOf = (rule: Rule): SettingKey & `keep.${Rule}` => `keep.${rule}`;

/** The saved policy, or undefined when no keep.* key is saved. */
export function savedPolicy(catalog: Catalog): RetentionPolicy | undefined {
  const saved = catalog.getConfig();
  const policy: RetentionPolicy = {};
  for (const rule of RULES) {
    const n = readSetting(saved, keyOf(rule));
    if (n !== undefined) policy[rule] = n;
  }
  return isEmptyPolicy(policy) ? undefined : policy;
}

/** What applies when no policy is given on the command line: the saved one, else keep-last 16. */
export function effectivePolicy(catalog: Catalog): { policy: RetentionPolicy; source: 'saved' | 'default' } {
  const saved = savedPolicy(catalog);
  return saved ? { policy: saved, source: 'saved' } : { policy: { ...DEFAULT_POLICY }, source: 'default' };
}
