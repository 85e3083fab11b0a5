// The layout shows the three programs: lib/ (main thread), workers/ (worker thread), client/
// (the CLI). They share code only through common/, which imports none of them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';

const root = new URL('../', import.meta.url).pathname;
const folders = ['lib', 'workers', 'client', 'common'] as const;

function importsOf(folder: string): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const file of readdirSync(join(root, folder)).filter((name) => /\.c?ts$/.test(name))) {
    const source = readFileSync(join(root, folder, file), 'utf8');
    for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"](\.\.?\/[^'"]+)['"]/g)) {
      found.push({ file: `${folder}/${file}`, target: join(folder, match[1]) });
    }
  }
  return found;
}

for (const folder of folders) {
  t.test(`${folder}/ imports only from itself${folder === 'common' ? '' : ' and common/'}`, async (t) => {
    const imports = importsOf(folder);
    t.ok(imports.length > 0, 'it has imports to check');
    const allowed = folder === 'common' ? ['common/'] : [`${folder}/`, 'common/'];
    const crossing = imports.filter(({ target }) => !allowed.some((prefix) => target.startsWith(prefix)));
    t.same(crossing, [], crossing.map(({ file, target }) => `${file} -> ${target}`).join(', '));
  });
}
