import t from 'tap';
import { resolveOptions } from '../lib/options.ts';

t.test('defaults: loopback port 3000, a 2 s guard, no locals, no banner', async (t) => {
  const rest = {
    locals: {},
    banner: '',
    evalTimeoutMs: 2000,
    mainThreadBudget: 0.1,
    token: undefined,
    allowRemote: false,
    audit: 'default',
    maxSessions: 16,
    maxInputBytes: 1048576,
    idleTimeoutMs: 1800000,
    authTimeoutMs: 10000,
  };
  t.same(resolveOptions(), { port: 3000, host: '127.0.0.1', path: undefined, ...rest });
  t.same(resolveOptions({ path: '/tmp/x.sock' }), { port: undefined, host: undefined, path: '/tmp/x.sock', ...rest });
});

t.test('given options win', async (t) => {
  const locals = { a: 1 };
  const audit = () => {};
  const given = {
    port: 0,
    host: '0.0.0.0',
    locals,
    banner: 'hi',
    evalTimeoutMs: 0,
    mainThreadBudget: 1,
    token: 'a long secret',
    allowRemote: true,
    audit,
    maxSessions: 2,
    maxInputBytes: 100,
    idleTimeoutMs: 0,
    authTimeoutMs: 500,
  };
  t.same(resolveOptions(given), { ...given, path: undefined });
});

t.test('bad options throw errors that name the option', async (t) => {
  const cases: [unknown, ErrorConstructor, string | RegExp][] = [
    [null, TypeError, 'The options must be an object. Received null'],
    [{ prot: 1 }, TypeError, 'Unknown option "prot"'],
    [{ port: '3000' }, TypeError, 'The "port" option must be a number. Received \'3000\''],
    [{ port: 70000 }, RangeError, 'The "port" option must be an integer from 0 to 65535. Received 70000'],
    [{ port: 1.5 }, RangeError, 'The "port" option must be an integer from 0 to 65535. Received 1.5'],
    [{ port: -1 }, RangeError, 'The "port" option must be an integer from 0 to 65535. Received -1'],
    [{ host: '' }, TypeError, 'The "host" option must be a non-empty string. Received \'\''],
    [{ host: 1 }, TypeError, 'The "host" option must be a non-empty string. Received number 1'],
    [{ path: 5 }, TypeError, 'The "path" option must be a non-empty string. Received number 5'],
    [{ path: '/x', port: 1 }, TypeError, 'The "path" option cannot be combined with "port" or "host"'],
    [{ locals: [] }, TypeError, 'The "locals" option must be an object. Received an array'],
    [{ locals: null }, TypeError, 'The "locals" option must be an object. Received null'],
    [{ banner: 1 }, TypeError, 'The "banner" option must be a string. Received number 1'],
    [{ evalTimeoutMs: '1' }, TypeError, 'The "evalTimeoutMs" option must be a number. Received \'1\''],
    [{ evalTimeoutMs: -5 }, RangeError, 'The "evalTimeoutMs" option must be an integer from 0 to 2147483647. Received -5'],
    [{ evalTimeoutMs: Infinity }, RangeError, 'The "evalTimeoutMs" option must be an integer from 0 to 2147483647. Received Infinity'],
    [{ mainThreadBudget: '0.5' }, TypeError, 'The "mainThreadBudget" option must be a number. Received \'0.5\''],
    [{ mainThreadBudget: 0 }, RangeError, 'The "mainThreadBudget" option must be more than 0 and at most 1. Received 0'],
    [{ mainThreadBudget: 1.5 }, RangeError, 'The "mainThreadBudget" option must be more than 0 and at most 1. Received 1.5'],
    [{ mainThreadBudget: NaN }, RangeError, 'The "mainThreadBudget" option must be more than 0 and at most 1. Received NaN'],
    [{ token: 'short' }, TypeError, 'The "token" option must be a string of 8 to 1000 bytes, on one line. Received a shorter string'],
    [{ token: 12345678 }, TypeError, 'The "token" option must be a string of 8 to 1000 bytes, on one line. Received number 12345678'],
    [{ token: 'x'.repeat(1001) }, TypeError, 'The "token" option must be a string of 8 to 1000 bytes, on one line. Received a longer string'],
    [{ token: 'line one\nline two' }, TypeError, 'The "token" option must be a string of 8 to 1000 bytes, on one line. Received a string with a line break'],
    [{ allowRemote: 'yes' }, TypeError, 'The "allowRemote" option must be a boolean. Received \'yes\''],
    [{ audit: 'stdout' }, TypeError, "The \"audit\" option must be a function, 'stderr' or false. Received 'stdout'"],
    [{ maxSessions: 0 }, RangeError, 'The "maxSessions" option must be an integer from 1 to 100000. Received 0'],
    [{ maxInputBytes: 1 }, RangeError, 'The "maxInputBytes" option must be an integer from 16 to 1073741824. Received 1'],
    [{ idleTimeoutMs: -1 }, RangeError, 'The "idleTimeoutMs" option must be an integer from 0 to 2147483647. Received -1'],
    [{ authTimeoutMs: 0 }, RangeError, 'The "authTimeoutMs" option must be an integer from 1 to 2147483647. Received 0'],
    [{ host: '10.0.0.1' }, TypeError, /^The "host" option '10\.0\.0\.1' is not a loopback address/],
  ];
  for (const [options, type, message] of cases) {
    t.throws(() => resolveOptions(options as never), { constructor: type, message }, String(message));
  }
});

t.test('isLoopback', async (t) => {
  const { isLoopback } = await import('../lib/options.ts');
  for (const host of ['127.0.0.1', '127.9.9.9', '::1', 'localhost', '::ffff:127.0.0.1']) t.equal(isLoopback(host), true, host);
  for (const host of ['0.0.0.0', '::', '10.0.0.1', '192.168.1.1', 'example.com', '128.0.0.1']) t.equal(isLoopback(host), false, host);
});
