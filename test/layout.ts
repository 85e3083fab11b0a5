// The layout shows the three programs: lib/ (main thread), workers/ (worker thread), client/
// (the CLI). They share code only through common/, which imports none of them. Files are small
// and named for what they hold: none over 300 lines.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import t from 'tap';

const root = new URL('../', import.meta.url).pathname;
const folders = ['lib', 'workers', 'client', 'common'] as const;
const MAX_LINES = 300;

/** The source files under `folder`, in its subfolders too, relative to the root. */
function sourcesOf(folder: string, pattern = /\.c?ts$/): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => pattern.test(name))
    .map((name) => join(folder, name));
}

function importsOf(folder: string): { file: string; target: string }[] {
  const found: { file: string; target: string }[] = [];
  for (const file of sourcesOf(folder)) {
    const source = readFileSync(join(root, file), 'utf8');
    for (const match of source.matchAll(/(?:from\s+|import\s*\(\s*|require\(\s*)['"](\.\.?\/[^'"]+)['"]/g)) {
      found.push({ file, target: relative(root, join(root, file, '..', match[1])) });
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

t.test(`no source file is over ${MAX_LINES} lines`, async (t) => {
  const files = [...folders, 'bench'].flatMap((folder) => sourcesOf(folder, /\.(c?ts|m?js)$/));
  t.ok(files.length > 50, `${files.length} files`);
  const long = files.map((file) => ({ file, lines: readFileSync(join(root, file), 'utf8').split('\n').length - 1 })).filter(({ lines }) => lines > MAX_LINES);
  t.same(long, [], long.map(({ file, lines }) => `${file}: ${lines}`).join(', '));
});
