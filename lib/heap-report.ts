import v8 from 'node:v8';

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/**
 * `.heap`: the main thread's V8 heap now, and its spaces, from V8's own counters (no walk of
 * the heap: this costs the main thread microseconds, whatever the heap's size).
 */
export function heapReport(): string {
  const heap = v8.getHeapStatistics();
  const memory = process.memoryUsage();
  const lines = [
    `heap: ${mb(heap.used_heap_size)} used of ${mb(heap.total_heap_size)} (limit ${mb(heap.heap_size_limit)}), ` + `rss ${mb(memory.rss)}, external ${mb(memory.external)} (array buffers ${mb(memory.arrayBuffers)})`,
    `native contexts ${heap.number_of_native_contexts}, detached contexts ${heap.number_of_detached_contexts}${heap.number_of_detached_contexts > 0 ? ' (a detached context that stays is often a leak)' : ''}`,
    `${'space'.padEnd(26)}       used        size   available`,
  ];
  for (const space of v8.getHeapSpaceStatistics()) {
    lines.push(`${space.space_name.padEnd(26)} ${mb(space.space_used_size).padStart(10)}  ${mb(space.space_size).padStart(10)}  ${mb(space.space_available_size).padStart(10)}`);
  }
  lines.push('.heap sample [seconds] shows where the allocations are made.');
  return lines.join('\n');
}
