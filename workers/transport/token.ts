import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether `given` is the token, in time that does not depend on where they differ (both are
 * hashed first, so their lengths do not show either).
 */
export function tokenMatches(expected: string, given: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(expected), digest(given));
}
