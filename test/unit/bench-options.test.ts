import { describe, expect, it } from 'vitest';
import { run as overlay } from '../../bench/overlay.ts';
import { run as storage } from '../../bench/storage.ts';

// A mistyped row must be refused before anything runs: the bench would otherwise measure nothing and
// write an empty results file over the measured rows.
describe('bench options', () => {
  it('refuses an --only that names no row, and lists the rows', async () => {
    await expect(overlay(['--only', '10k'])).rejects.toThrow(new RangeError('--only 10k: no such row; one of 100, 1000, 10000, 1000:10, 1000:2'));
    await expect(storage(['--only', '5'])).rejects.toThrow(new RangeError('--only 5: no such row; one of static, 10, 2'));
  });
});
