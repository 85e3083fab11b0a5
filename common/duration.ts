/**
 * A duration for a person: `250 ms`, `10 s`, `5 min`, `1 min 30 s`, `2 h 5 min 3 s`. Whole
 * seconds and up are shown in hours, minutes and seconds (the parts that are not 0); anything
 * else in milliseconds.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000 || ms % 1000 !== 0) return `${Math.round(ms * 1000) / 1000} ms`;
  const s = ms / 1000;
  const parts: [number, string][] = [
    [Math.floor(s / 3600), 'h'],
    [Math.floor(s / 60) % 60, 'min'],
    [s % 60, 's'],
  ];
  return parts
    .filter(([value]) => value > 0)
    .map(([value, unit]) => `${value} ${unit}`)
    .join(' ');
}
