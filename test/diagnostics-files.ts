// Where `.profile` and `.heap sample` leave their files: a quota per app, oldest first; a
// directory of the backdoor's own made only when needed, private, and gone when the app exits.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { DiagnosticsFiles, MAX_BYTES, MAX_FILES } from '../workers/diagnostics/diagnostics-file.ts';
import { startApp } from './fixtures/child.ts';
import { TestClient } from './fixtures/client.ts';

t.test('the promised quota: 16 files and 256 MB per app', async (t) => {
  t.equal(MAX_FILES, 16);
  t.equal(MAX_BYTES, 256 * 1024 * 1024);
});

t.test("past the quota the oldest of this process's files go; another process's stay", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'backdoor-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const other = join(dir, `profile-${process.pid + 1}-2026-01-01T00-00-00-000Z-1.cpuprofile`);
  writeFileSync(other, '{}');
  const files = new DiagnosticsFiles(dir, () => t.fail('a named directory is not made'), { files: 4, bytes: 1000 });
  const written: string[] = [];
  for (let i = 0; i < 6; i++) written.push(await files.write('cpuprofile', `{"n":${i}}`));
  t.same(readdirSync(dir).sort(), [...written.slice(2).map((file) => file.slice(dir.length + 1)), other.slice(dir.length + 1)].sort(), "the 4 newest, and the other process's");
  // Bytes too: a file of 600 bytes leaves room for no more than 400 besides.
  const big = await files.write('heapprofile', 'x'.repeat(600));
  const left = readdirSync(dir).filter((name) => name.includes(`-${process.pid}-`));
  t.ok(left.includes(big.slice(dir.length + 1)));
  t.ok(left.length <= 4);
  const bytes = left.reduce((sum, name) => sum + statSync(join(dir, name)).size, 0);
  t.ok(bytes <= 1000, `${bytes} bytes of ours`);
});

t.test("a backdoor started again in the process writes into the last one's directory, if it is still private", async (t) => {
  const earlier = mkdtempSync(join(tmpdir(), 'backdoor-diagnostics-'));
  t.teardown(() => rmSync(earlier, { recursive: true, force: true }));
  for (let i = 0; i < 4; i++) writeFileSync(join(earlier, `heap-${process.pid}-2026-01-01T00-00-00-000Z-${i}.heapprofile`), '{}');
  const again = new DiagnosticsFiles(undefined, () => t.fail('no new directory'), { files: 4, bytes: 1000 }, earlier);
  const file = await again.write('cpuprofile', '{}');
  t.equal(dirname(file), earlier);
  t.equal(readdirSync(earlier).length, 4, "the quota counts the earlier backdoor's files");
  // Opened to others meanwhile (or another user's by now): not used, a fresh one is made.
  chmodSync(earlier, 0o755);
  const made: string[] = [];
  const fresh = new DiagnosticsFiles(undefined, (dir) => made.push(dir), undefined, earlier);
  const elsewhere = await fresh.write('cpuprofile', '{}');
  t.teardown(() => rmSync(dirname(elsewhere), { recursive: true, force: true }));
  t.not(dirname(elsewhere), earlier);
  t.same(made, [dirname(elsewhere)]);
});

t.test('without a named directory: one is made at the first file, private, and removed when the app exits', async (t) => {
  const app = await startApp(t, 'stuck-app.mjs', [], { _TAPJS_PROCESSINFO_COVERAGE_: '0' });
  const port = Number(/backdoor (\d+)/.exec(app.stdout())![1]);
  const client = await TestClient.connect({ port });
  t.teardown(() => client.destroy());
  await client.ready();
  const mine = () =>
    readdirSync(tmpdir())
      .filter((name) => name.startsWith('backdoor-diagnostics-'))
      .filter((name) => {
        try {
          return readdirSync(join(tmpdir(), name)).some((file) => file.includes(`-${app.pid}-`));
        } catch {
          return false;
        }
      });
  const before = new Set(readdirSync(tmpdir()));
  t.equal(await client.eval('1+1'), '2');
  t.same(
    readdirSync(tmpdir()).filter((name) => !before.has(name) && name.startsWith('backdoor-diagnostics-')),
    [],
    'nothing made before a diagnosis needs it',
  );
  const text = await client.eval('.heap sample 0.2', 10_000);
  const file = /: (\S+\.heapprofile)$/.exec(text)![1];
  const dir = dirname(file);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  t.equal(statSync(dir).mode & 0o777, 0o700);
  t.equal(statSync(file).mode & 0o777, 0o600);
  t.same(mine(), [dir.slice(tmpdir().length + 1)]);
  app.process.stdin!.write('exit\n');
  t.equal(await app.exited, 0);
  t.notOk(existsSync(dir), 'removed when the app exited');
});
