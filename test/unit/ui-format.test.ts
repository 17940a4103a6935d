import { describe, expect, it } from 'vitest';
import { clockTime } from '../../src/app/ui/format.ts';

describe('clock times in the panels', () => {
  it('are 24-hour with seconds, as the event log and the chat both show them', () => {
    const afternoon = new Date(2026, 10, 27, 15, 4, 5).getTime();
    expect(clockTime(afternoon)).toMatch(/^15\D04\D05$/);
    expect(clockTime(new Date(2026, 10, 27, 9, 30, 0).getTime())).toMatch(/^09\D30\D00$/);
  });
});
