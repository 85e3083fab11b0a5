/**
 * A duration for a person: `250 ms`, `10 s`, `5 min`, `1 min 30 s`, `2 h 5 min`. Whole seconds
 * and up are shown in their units (down to the second); anything else in milliseconds.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 1000 || ms % 1000 !== 0) return `${Math.round(ms * 1000) / 1000} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const minutes = Math.floor(s / 60) % 60;
  return minutes === 0 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 3600)} h ${minutes} min`;
}
