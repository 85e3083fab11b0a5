/**
 * backdoor: an interactive JavaScript REPL inside a running Node.js process, served over a
 * socket from a worker thread, so that the app it lives in keeps serving.
 */
export { Backdoor, startBackdoor, type BackdoorStats } from './backdoor.ts';
export { BackdoorError, type BackdoorErrorCode, type ListenErrorCode } from '../common/errors.ts';
export type { BackdoorOptions } from './options.ts';
export type { BackdoorAddress } from '../common/address.ts';
export { installSignalHandlers, type SignalOptions } from './signals.ts';
