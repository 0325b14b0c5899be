/**
 * The layering of src/ (docs/design.md, "Code layout"): scripts/layers.mjs over the real
 * sources must find nothing, and it must find each kind of violation in a planted example.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { checkLayers, readSources } from '../../scripts/layers.mjs';

const check = checkLayers as (files: Map<string, string>) => string[];
const src = path.join(import.meta.dirname, '..', '..', 'src');

describe('layering of src/', () => {
  it('has no import circle, no forbidden import and no command importing another command', () => {
    expect(check(readSources(src) as Map<string, string>)).toEqual([]);
  });

  it('finds planted violations', () => {
    const files = new Map<string, string>([
      ['errors.ts', ''],
      ['store/a.ts', "import { x } from '../catalog/b.js';"],
      ['catalog/b.ts', "import { y } from '../model/c.js';"],
      ['model/c.ts', "import type { z } from './d.js';"],
      ['model/d.ts', "export { w } from './c.js';"],
      ['cli/commands/take.ts', "import { take } from '../../ops/take/take.js';"],
      ['ops/take/take.ts', "import { openRoot } from '../shared/root.js';"],
      ['ops/verify/repair.ts', "import { take } from '../take/take.js';"],
      ['ops/shared/root.ts', "import { r } from '../verify/repair.js';"],
    ]);
    const problems = check(files);
    expect(problems).toContain('store/a.ts: store may not import catalog (catalog/b.ts)');
    expect(problems).toContain('import circle: model/c.ts → model/d.ts');
    expect(problems).toContain('ops/verify/repair.ts: imports the command file ops/take/take.ts; move what it needs into a library file');
    expect(problems).toContain('ops/shared/root.ts: ops/shared may not import ops/verify (ops/verify/repair.ts)');
    expect(problems).toContain('import circle: ops/shared/root.ts → ops/take/take.ts → ops/verify/repair.ts');
    expect(problems).toContain('circle between ops families: shared → take → verify');
  });
});
