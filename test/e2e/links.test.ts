// Real WebRTC links through the real signaling server: tab↔tab, Node↔tab, and tampered signaling.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { BootstrapNode } from '../../src/app/bootstrap-node.ts';
import { transferCheck } from '../../src/app/test-methods.ts';
import { systemClock } from '../../src/core/clock.ts';
import type { WireEnvelope } from '../../src/transport/signal-envelope.ts';
import {
  closeBrowser,
  closeTabs,
  errorsOf,
  launchBrowser,
  nodeId,
  openTabs,
  waitFor,
  type PageWindow,
} from './browser.ts';
import { startNodePeer, untilNode } from './node-peer.ts';

const MiB = 1024 * 1024;
let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await closeBrowser(browser);
});

const linkedTo = (page: Page, peer: string) =>
  waitFor(page, (id) => (window as unknown as PageWindow).selfmesh.links().some((l) => l.id === id), peer);

describe('WebRTC links between tabs', () => {
  it('two tabs link through the server, move 1 MiB intact, and make an RPC round trip', async () => {
    const tabs = await openTabs(browser, 2, 'links-two-tabs', { lab: true });
    const [a, b] = tabs as [Page, Page];
    const [idA, idB] = [await nodeId(a), await nodeId(b)];
    // The tabs link by themselves on announce (the lower id offers).
    await linkedTo(a, idB);
    await linkedTo(b, idA);
    const t = await a.evaluate(
      (peer) => (window as unknown as PageWindow).selfmesh.transfer(peer, 1024 * 1024, 42),
      idB,
    );
    expect(t.remoteHash).toBe(t.localHash);
    expect(t.echoHash).toBe(t.localHash);
    expect(
      await b.evaluate(
        (peer) => (window as unknown as PageWindow).selfmesh.request(peer, 'test.ping', 7),
        idA,
      ),
    ).toBe(7);
    const links = await a.evaluate(() => (window as unknown as PageWindow).selfmesh.links());
    expect(links).toEqual([expect.objectContaining({ id: idB, via: 'server' })]);
    expect([...errorsOf(a), ...errorsOf(b)]).toEqual([]);
    await closeTabs(tabs);
  });
});

describe('WebRTC link between Node and a tab', () => {
  let node: BootstrapNode | undefined;
  afterAll(() => node?.close());

  it('a Node peer (wrtc) links to a tab and both move 1 MiB intact and make RPC round trips', async () => {
    const room = 'links-node-tab';
    const [tab] = (await openTabs(browser, 1, room, { lab: true, query: { auto: '0' } })) as [Page];
    const tabId = await nodeId(tab);
    node = startNodePeer(inject('signalUrl'), room);
    await untilNode(node, () => node!.signaling.isOpen);
    await node.connect(tabId);
    await linkedTo(tab, node.id);

    const fromNode = await transferCheck(node.rpc(tabId), MiB, 7, systemClock());
    expect(fromNode.remoteHash).toBe(fromNode.localHash);
    expect(fromNode.echoHash).toBe(fromNode.localHash);
    const fromTab = await tab.evaluate(
      (peer) => (window as unknown as PageWindow).selfmesh.transfer(peer, 1024 * 1024, 8),
      node.id,
    );
    expect(fromTab.remoteHash).toBe(fromTab.localHash);
    expect(fromTab.echoHash).toBe(fromTab.localHash);
    expect(await node.rpc(tabId).request('test.ping', 11)).toBe(11);
    expect(errorsOf(tab)).toEqual([]);
    node.close();
    await waitFor(tab, () => (window as unknown as PageWindow).selfmesh.links().length === 0, undefined);
    await closeTabs([tab]);
  });
});

describe('tampered signaling', () => {
  const flipSignature = (w: WireEnvelope): WireEnvelope => ({
    ...w,
    signature: (w.signature[0] === 'a' ? 'b' : 'a') + w.signature.slice(1),
  });
  const swapFingerprint = (w: WireEnvelope): WireEnvelope => {
    const p = w.payload as { type: string; sdp: string };
    // A relay substituting its own certificate: the SDP's fingerprint no longer matches the signed one.
    const sdp = p.sdp.replace(
      /(a=fingerprint:\S+ )([0-9A-F]{2})/g,
      (_m, head: string, byte: string) => head + (byte === '00' ? '01' : '00'),
    );
    return { ...w, payload: { ...p, sdp } };
  };

  it.each([
    ['signature bytes flipped', flipSignature, /signature does not verify/],
    ['fingerprint changed in the SDP', swapFingerprint, /fingerprint/],
  ])('an offer with %s is refused with a clear error and no link forms', async (_name, tamper, message) => {
    const room = `links-tamper-${tamper === flipSignature ? 'sig' : 'fp'}`;
    const tabs = await openTabs(browser, 2, room, { lab: true, query: { auto: '0' } });
    const [a, b] = tabs as [Page, Page];
    const idB = await nodeId(b);
    const offer = await a.evaluate((peer) => (window as unknown as PageWindow).selfmesh.makeOffer(peer), idB);
    expect(
      await a.evaluate((w) => (window as unknown as PageWindow).selfmesh.publishSignal(w), tamper(offer)),
    ).toBe(true);

    const refusals = await waitFor(
      b,
      () => {
        const r = (window as unknown as PageWindow).selfmesh.refusals();
        return r.length > 0 ? r : null;
      },
      undefined,
    );
    expect(refusals).toHaveLength(1);
    expect(refusals[0]!.code).toBe('BAD_SIGNATURE');
    expect(refusals[0]!.message).toMatch(message);
    expect(await b.evaluate(() => (window as unknown as PageWindow).selfmesh.links())).toEqual([]);
    expect(await a.evaluate(() => (window as unknown as PageWindow).selfmesh.links())).toEqual([]);
    await a.evaluate(() => (window as unknown as PageWindow).selfmesh.cancelOffers());

    // The refusal left nothing behind: an honest offer between the same tabs still links.
    await a.evaluate((peer) => (window as unknown as PageWindow).selfmesh.connect(peer), idB);
    expect(await b.evaluate(() => (window as unknown as PageWindow).selfmesh.links().length)).toBe(1);
    await closeTabs(tabs);
  });
});
