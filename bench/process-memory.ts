// Memory of a process tree as PSS (proportional set size): shared pages are split between the
// processes that share them, so the sum over a browser's processes is not inflated like summed RSS.
import { readFileSync, readdirSync } from 'node:fs';

function childrenOf(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may hold spaces, so split after ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

export function pssOfTreeKB(rootPid: number): number {
  const children = childrenOf();
  let total = 0;
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const m = /^Pss:\s+(\d+) kB/m.exec(rollup);
      if (m) total += Number(m[1]);
    } catch {
      // Gone, or not ours to read.
    }
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** PSS of every Chromium process this process started (the browser and all its children). */
export function pssOfChildBrowsersKB(parentPid = process.pid): number {
  let total = 0;
  for (const pid of childrenOf().get(parentPid) ?? []) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (/chrom/i.test(cmd)) total += pssOfTreeKB(pid);
  }
  return total;
}
