// The documentation's links hold: every relative link in README.md and docs/*.md names a file
// that exists, and every `#anchor` (in the same file or another .md) names one of its headings,
// slugged as GitHub slugs them.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import t from 'tap';

const root = new URL('../', import.meta.url).pathname;

/** The Markdown files checked, relative to the root. */
const files = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name)),
];

/** The lines of a Markdown text outside fenced code blocks. */
function outsideFences(text: string): string[] {
  const lines: string[] = [];
  let fence: string | undefined;
  for (const line of text.split('\n')) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence) {
      if (marker && marker[0] === fence[0] && marker.length >= fence.length) fence = undefined;
      continue;
    }
    if (marker) {
      fence = marker;
      continue;
    }
    lines.push(line);
  }
  return lines;
}

/** The lines of a Markdown text outside fenced code blocks, with inline code spans blanked. */
function prose(text: string): string[] {
  // `code` keeps a placeholder: a link's text may be code ([`--all`](#...)).
  return outsideFences(text).map((line) => line.replace(/(`+)(?:(?!\1)[^])+?\1/g, 'code'));
}

/**
 * GitHub's anchor for a heading: its text as rendered (no code ticks, link targets or emphasis
 * marks), lowercased, punctuation dropped except '-' and '_', each space a '-'; a repeated one
 * gets -1, -2...
 */
function slug(heading: string): string {
  return heading
    .replace(/`/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/\*/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a Markdown text's headings. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of outsideFences(text)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

/** The links and images of a Markdown text: their targets, with the line they are on. */
function linksOf(text: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  prose(text).forEach((line, i) => {
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: match[1], line: i + 1 });
  });
  return links;
}

/**
 * What is broken among the relative links of `file` (relative to `base`): a target that does not
 * exist, or an anchor that no heading of its file has. `read` gives a file's text, or undefined.
 */
function brokenLinks(file: string, read: (path: string) => string | undefined, exists: (path: string) => boolean): string[] {
  const text = read(file);
  if (text === undefined) return [`${file}: cannot be read`];
  const broken: string[] = [];
  for (const { target } of linksOf(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:: not checked here
    const [path, anchor] = target.split('#', 2) as [string, string | undefined];
    const linked = path === '' ? file : join(dirname(file), decodeURIComponent(path));
    if (path !== '' && !exists(linked)) {
      broken.push(`${file}: ${target}: no such file (${linked})`);
      continue;
    }
    if (anchor === undefined) continue;
    if (!linked.endsWith('.md')) {
      broken.push(`${file}: ${target}: an anchor in a file that is not Markdown`);
      continue;
    }
    const linkedText = read(linked);
    if (linkedText === undefined || !anchorsOf(linkedText).has(decodeURIComponent(anchor))) broken.push(`${file}: ${target}: no heading for #${anchor} in ${linked}`);
  }
  return broken;
}

const readAt = (path: string): string | undefined => {
  try {
    return readFileSync(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
};
const existsAt = (path: string): boolean => !relative(root, join(root, path)).startsWith('..') && existsSync(join(root, path));

t.test('GitHub slugs', async (t) => {
  t.equal(slug('Every process at once: `backdoor --all`'), 'every-process-at-once-backdoor---all');
  t.equal(slug("The worker's first collection"), 'the-workers-first-collection');
  t.equal(slug('`.heap` and `.heap sample [seconds]`'), 'heap-and-heap-sample-seconds');
  t.equal(slug('Values: `val`'), 'values-val');
  t.equal(slug('snake_case and kebab-case'), 'snake_case-and-kebab-case');
  t.same([...anchorsOf('# A\n## B\n```\n# not a heading\n```\n## B\n')], ['a', 'b', 'b-1']);
});

t.test('the checker finds a broken file, a broken anchor, and passes good links', async (t) => {
  const fake: Record<string, string> = {
    'README.md': '# Top\n\n## Some part\n\n[ok](#some-part) [ok](docs/a.md#a-heading) [ok](docs/a.md) `[not a link](nowhere.md)`\n\n```\n[not a link](nowhere.md)\n```\n',
    'docs/a.md': '# A heading\n\n[ok](../README.md#top) [gone](missing.md) [bad anchor](../README.md#no-such-part) [bad self](#nope) [web](https://example.com/x#y)\n',
  };
  const read = (path: string) => fake[path];
  const exists = (path: string) => path in fake;
  t.same(brokenLinks('README.md', read, exists), []);
  t.same(brokenLinks('docs/a.md', read, exists), [
    'docs/a.md: missing.md: no such file (docs/missing.md)',
    'docs/a.md: ../README.md#no-such-part: no heading for #no-such-part in README.md',
    'docs/a.md: #nope: no heading for #nope in docs/a.md',
  ]);
});

t.test('the README links every doc', async (t) => {
  const readme = readAt('README.md')!;
  const linked = new Set(linksOf(readme).map(({ target }) => target.split('#')[0]));
  for (const file of files.filter((file) => file !== 'README.md')) t.ok(linked.has(file), `README.md links ${file}`);
});

for (const file of files) {
  t.test(`${file}: every relative link and anchor resolves`, async (t) => {
    t.ok(linksOf(readAt(file)!).length > 0, 'it has links to check');
    const broken = brokenLinks(file, readAt, existsAt);
    t.same(broken, [], broken.join('\n'));
  });
}
