/**
 * The retention policy saved in a root's catalog (`snap config <root> keep.daily=7 ...`), and
 * the policy that applies when none is given on the command line.
 */
import type { Catalog } from '../../catalog/catalog.js';
import { DEFAULT_POLICY, RULES, isEmptyPolicy, type RetentionPolicy, type Rule } from './policy.js';
import { SnapError, isSnapError } from '../../errors.js';

/** Saved key -> policy rule. */
export const POLICY_KEYS: Readonly<Record<string, Rule>> = Object.freeze(Object.fromEntries(RULES.map((r) => [`keep.${r}`, r])));

export type PolicySource = 'options' | 'saved' | 'default';

export function knownKeysHint(): string {
  return `known keys: ${Object.keys(POLICY_KEYS).join(', ')}`;
}

export function parseCount(key: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new SnapError('USAGE', `${key} must be a positive integer, got '${value}'`, { hint: `to remove a rule: snap config <root> --unset ${key}` });
  }
  return Number(value);
}

/** The saved policy, or undefined when no keep.* key is saved. */
export function savedPolicy(catalog: Catalog): RetentionPolicy | undefined {
  const policy: RetentionPolicy = {};
  for (const [key, value] of catalog.getConfig()) {
    const rule = POLICY_KEYS[key];
    if (!rule) continue;
    try {
      policy[rule] = parseCount(key, value);
    } catch (e) {
      if (!isSnapError(e)) throw e;
      throw new SnapError('CATALOG', `the saved setting ${key}=${JSON.stringify(value)} is not a positive integer`, {
        hint: `fix it: snap config <root> ${key}=<n>  (or --unset ${key})`,
      });
    }
  }
  return isEmptyPolicy(policy) ? undefined : policy;
}

/** What applies when no policy is given on the command line: the saved one, else keep-last 16. */
export function effectivePolicy(catalog: Catalog): { policy: RetentionPolicy; source: 'saved' | 'default' } {
  const saved = savedPolicy(catalog);
  return saved ? { policy: saved, source: 'saved' } : { policy: { ...DEFAULT_POLICY }, source: 'default' };
}
