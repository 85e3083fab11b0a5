// The install the README gives: the packed package, installed into an app of one's own, works
// with the API, with the preload, and with its client, as a user's app would use them.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t, { type Test } from 'tap';
import { TestClient } from './fixtures/client.ts';
import { until } from './fixtures/until.ts';

const exec = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
// No module hooks of tap's in the app: it is a user's app, not a test's.
const env = { ...process.env, NODE_OPTIONS: '', BACKDOOR_MAIN_THREAD_BUDGET: '1', XDG_RUNTIME_DIR: '' };

/** Starts `node args` in `cwd`, stopped by its pid when the test ends; resolves its port once it says it listens. */
async function listening(t: Test, cwd: string, args: string[], extra: NodeJS.ProcessEnv = {}): Promise<number> {
  const child = spawn(process.execPath, args, { cwd, env: { ...env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  });
  let said = '';
  child.stdout!.on('data', (chunk) => (said += chunk));
  child.stderr!.on('data', (chunk) => (said += chunk));
  t.ok(await until(() => /listening on 127\.0\.0\.1:\d+/.test(said) || child.exitCode !== null, 30_000), `it started: ${said.trim().split('\n')[0]}`);
  return Number(/listening on 127\.0\.0\.1:(\d+)/.exec(said)?.[1]);
}

/**
 * An app that depends on the tarball, with a lockfile: what `npm install <tarball>` would write,
 * its dependencies pinned to this project's lockfile, so that `npm ci --offline` installs them
 * from npm's cache (which the project's own `npm ci` filled), with no network.
 */
function writeLockedApp(app: string, tarball: string, bytes: Buffer): void {
  const own = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; license: string; dependencies: Record<string, string>; bin: unknown; engines: unknown };
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
  const runtime = Object.fromEntries(Object.entries(lock.packages).filter(([path, entry]) => path !== '' && !entry.dev));
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-app', private: true, type: 'module', dependencies: { backdoor: `file:${tarball}` } }));
  const backdoor = {
    version: own.version,
    resolved: `file:${tarball}`,
    integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
    license: own.license,
    dependencies: own.dependencies,
    bin: own.bin,
    engines: own.engines,
  };
  const packages = { '': { name: 'my-app', dependencies: { backdoor: `file:${tarball}` } }, 'node_modules/backdoor': backdoor, ...runtime };
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify({ name: 'my-app', lockfileVersion: 3, requires: true, packages }));
}

t.test('npm pack, then npm install of the tarball into a new app: the API, the preload and the client work', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'backdoor-install-'));
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }));
  // The build is this run's (npm test builds first); packing must not rebuild it under the
  // other test files, hence no scripts. Dependencies come from npm's cache (npm ci filled it):
  // no network.
  await exec('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', scratch], { cwd: root, env });
  const tarball = readdirSync(scratch).find((name) => name.endsWith('.tgz'));
  t.ok(tarball, 'npm pack made a tarball');
  const app = join(scratch, 'app');
  mkdirSync(app);
  writeLockedApp(app, `../${tarball}`, readFileSync(join(scratch, tarball!)));
  await exec('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: app, env });

  writeFileSync(
    join(app, 'api.js'),
    "import { startBackdoor } from 'backdoor';\nconst backdoor = await startBackdoor({ port: 0, locals: { greeting: 'hi' } });\nconst { port } = backdoor.address();\nconsole.log(`listening on 127.0.0.1:${port}`);\nsetInterval(() => {}, 1000); // the app's own work: the backdoor never keeps a process alive\n",
  );
  const apiPort = await listening(t, app, ['api.js']);
  const viaApi = await TestClient.connect({ port: apiPort });
  t.teardown(() => viaApi.destroy());
  await viaApi.ready();
  t.equal(await viaApi.eval('greeting + 1'), "'hi1'", 'the API: a session against the app');

  writeFileSync(join(app, 'plain.js'), 'setInterval(() => {}, 1000);\n');
  const preloadPort = await listening(t, app, ['--import', 'backdoor/register', 'plain.js'], { BACKDOOR_PORT: '0', BACKDOOR_START: '1' });
  const viaPreload = await TestClient.connect({ port: preloadPort });
  t.teardown(() => viaPreload.destroy());
  await viaPreload.ready();
  t.equal(await viaPreload.eval('6*7'), '42', 'the preload: a backdoor with no code of the app changed');

  // The client the install puts in node_modules/.bin (what `npx backdoor` runs).
  const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
    const child = execFile(join(app, 'node_modules', '.bin', 'backdoor'), [String(apiPort)], { env, timeout: 30_000 }, (error, out) => (error ? reject(error) : resolve({ stdout: out })));
    child.stdin!.end('greeting.length\n');
  });
  t.match(stdout, /^2$/m, 'the client');
});
