// `node --require backdoor/register`: a CommonJS entry for the ESM preload, so that loading it
// from --require prints no require(esm) warning. The handlers are installed a moment later,
// once the import resolves: before any signal could matter.
import('./register.ts').catch((error: Error) => {
  process.stderr.write(`backdoor: not installed: ${error.message}\n`);
});
