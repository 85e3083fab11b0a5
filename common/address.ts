/** A listening address, as `Backdoor.address()` returns it. */
export type BackdoorAddress = { host: string; port: number } | { path: string };

/** `127.0.0.1:3000`, `[::1]:3000` or the socket path. */
export function formatAddress(address: BackdoorAddress): string {
  if ('path' in address) return address.path;
  return `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}`;
}
