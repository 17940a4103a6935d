import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/core/clock.ts';
import type { Id } from '../../src/core/id.ts';
import { hostTarget, type RemoteCaller } from '../../src/components/binding.ts';
import { defineComposite } from '../../src/components/composite.ts';
import { defineComponent } from '../../src/components/define.ts';
import { Membrane } from '../../src/components/membrane.ts';
import { ComponentRuntime } from '../../src/components/runtime.ts';
import { counterDef, makeRuntime } from './helpers/components.ts';

const B = 'b'.repeat(64);

/** Uses a required 'counter' interface: the binding decides whether it is local or on another node. */
const meter = defineComponent({
  name: 'meter',
  version: '1.0.0',
  provides: ['meter'],
  requires: ['counter'],
  create: (ctx) => ({
    tick: async () => ctx.use('counter').inc!('meter', 0),
    label: () => `${ctx.attribute('label') ?? 'meter'} on ${ctx.node.slice(0, 4)}`,
  }),
});

describe('component model', () => {
  it('describes the live graph of a node as JSON', async () => {
    const rt = makeRuntime();
    rt.install(counterDef('1.0.0'), { attributes: { owner: 'alice' } });
    rt.install(meter);
    rt.bindLocal('meter', 'counter', 'counter');
    await rt.start('counter');
    await rt.start('meter');
    await rt.call('meter', 'tick');
    const graph = rt.describe();
    expect(JSON.parse(JSON.stringify(graph))).toEqual(graph);
    expect(graph.node).toBe(rt.node);
    expect(graph.components.map((c) => [c.name, c.version, c.state])).toEqual([
      ['counter', '1.0.0', 'started'],
      ['meter', '1.0.0', 'started'],
    ]);
    expect(graph.components[0]).toMatchObject({
      provides: ['counter'],
      attributes: { owner: 'alice' },
      membrane: { calls: 1, inFlight: 0 },
    });
    expect(graph.edges).toEqual([{ from: 'meter', iface: 'counter', to: 'counter', kind: 'local' }]);
    expect(rt.list()).toEqual([
      { name: 'counter', version: '1.0.0', state: 'started', provides: ['counter'], load: 0 },
      { name: 'meter', version: '1.0.0', state: 'started', provides: ['meter'], load: 0 },
    ]);
  });

  it('will not start a component whose required interfaces are unbound', async () => {
    const rt = makeRuntime();
    rt.install(meter);
    await expect(rt.start('meter')).rejects.toMatchObject({
      code: 'REFUSED',
      message: expect.stringMatching(/counter/),
    });
    expect(() => rt.bind('meter', 'nope', hostTarget('x', {}))).toThrow(/does not require/);
  });

  it('calls a required interface bound to a component on another node through the RemoteCaller', async () => {
    const nodes = new Map<Id, ComponentRuntime>();
    const seen: unknown[] = [];
    const remote: RemoteCaller = {
      call: (node, component, method, args) => {
        seen.push({ node, component, method, args });
        return nodes.get(node)!.call(component, method, args, 'remote');
      },
    };
    const here = makeRuntime(systemClock(), { remote });
    const there = new ComponentRuntime({ node: B, clock: systemClock() });
    nodes.set(B, there);
    there.install(counterDef('1.0.0'));
    await there.start('counter');
    here.install(meter, { attributes: { label: 'm' } });
    here.bindRemote('meter', 'counter', B, 'counter');
    await here.start('meter');
    expect(await here.call('meter', 'tick')).toBe(1);
    expect(await here.call('meter', 'tick')).toBe(2);
    expect(await here.call('meter', 'label')).toBe('m on aaaa');
    expect(seen[0]).toEqual({ node: B, component: 'counter', method: 'inc', args: ['meter', 0] });
    expect(here.describe().edges).toEqual([
      { from: 'meter', iface: 'counter', to: `${B}:counter`, kind: 'remote' },
    ]);
    // Rebinding takes effect at the next call: the proxy looks the binding up each time.
    here.get('meter')!.bindings.unbind('counter');
    await expect(here.call('meter', 'tick')).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('runs a composite: children in its content, exports, internal wires, nested describe', async () => {
    const comp = defineComposite({
      name: 'metered',
      version: '1.0.0',
      children: [counterDef('1.0.0'), meter],
      exports: { meter: 'meter', counter: 'counter' },
      wires: [{ child: 'meter', iface: 'counter', to: 'counter' }],
    });
    const rt = makeRuntime();
    const c = rt.install(comp);
    expect(c.content.list().map((x) => x.name)).toEqual(['counter', 'meter']);
    await rt.start('metered');
    expect(c.content.list().map((x) => x.lifecycle.state())).toEqual(['started', 'started']);
    await rt.call('metered', 'tick');
    expect(await rt.call('metered', 'get')).toBe(1);
    const d = rt.describe();
    expect(d.components[0]).toMatchObject({
      kind: 'composite',
      provides: ['meter', 'counter'],
      children: [{ name: 'counter' }, { name: 'meter' }],
    });
    expect(d.edges).toEqual([{ from: 'metered/meter', iface: 'counter', to: 'counter', kind: 'local' }]);
    expect(await c.state.get()).toMatchObject({ state: { counter: { state: { count: 1 } } } });
    // A child can be swapped inside its composite.
    const report = await (
      await import('../../src/components/hot-swap.ts')
    ).hotSwap(c.content.get('counter')!, counterDef('1.1.0', { stateVersion: 2 }), { clock: systemClock() });
    expect(report.ok).toBe(true);
    expect(await rt.call('metered', 'tick')).toBe(2);
    await rt.stop('metered');
    expect(c.content.list().map((x) => x.lifecycle.state())).toEqual(['stopped', 'stopped']);
  });

  it('rejects a composite that exports what no child provides', () => {
    expect(() =>
      defineComposite({
        name: 'x',
        version: '1.0.0',
        children: [meter],
        exports: { counter: 'meter' },
        requires: ['counter'],
      }),
    ).toThrow(/export counter/);
    expect(() => defineComposite({ name: 'x', version: '1.0.0', children: [meter], exports: {} })).toThrow(
      /neither wired nor required/,
    );
  });

  it('passes attribute changes to the instance', async () => {
    const changes: unknown[] = [];
    const rt = makeRuntime();
    const c = rt.install(
      defineComponent({
        name: 'a',
        version: '1.0.0',
        create: () => ({ onAttribute: (n: string, v: unknown) => changes.push([n, v]) }),
      }),
    );
    c.attributes.set('rate', 5);
    expect(c.attributes.list()).toEqual({ rate: 5 });
    expect(changes).toEqual([['rate', 5]]);
    expect(() => c.attributes.set('fn', () => 1)).toThrow(/JSON/);
  });

  it('checks definitions', () => {
    expect(() => defineComponent({ name: 'Bad Name', version: '1.0.0', create: () => ({}) })).toThrow(/name/);
    expect(() => defineComponent({ name: 'ok', version: 'one', create: () => ({}) })).toThrow(/semver/);
    expect(() =>
      defineComponent({ name: 'ok', version: '1.0.0', stateVersion: -1, create: () => ({}) }),
    ).toThrow(/stateVersion/);
  });
});

describe('membrane', () => {
  it('holds calls in order and releases them to the current target', async () => {
    const clock = systemClock();
    const m = new Membrane('m', { clock });
    const order: string[] = [];
    m.setTarget({ f: (x: string) => order.push(`old:${x}`) });
    m.setAccepting(true);
    await m.call('f', ['1']);
    m.hold();
    const held = [m.call('f', ['2'], 'a'), m.call('f', ['3'], 'b'), m.call('f', ['4'], 'a')];
    expect(m.stats()).toMatchObject({ held: 3, holding: true });
    m.setTarget({ f: (x: string) => order.push(`new:${x}`) });
    m.release();
    const after = m.call('f', ['5']);
    await Promise.all([...held, after]);
    expect(order).toEqual(['old:1', 'new:2', 'new:3', 'new:4', 'new:5']);
    await expect(m.call('nope')).rejects.toMatchObject({ code: 'REFUSED' });
    await expect(m.call('toString')).rejects.toMatchObject({ code: 'REFUSED' });
  });

  it('bounds the held queue', async () => {
    const m = new Membrane('m', { clock: systemClock(), maxHeld: 1 });
    m.hold();
    const first = m.call('f');
    await expect(m.call('f')).rejects.toMatchObject({ code: 'QUOTA' });
    m.rejectHeld(new Error('gone'));
    await expect(first).rejects.toThrow('gone');
  });
});

describe('remote methods', () => {
  it('serves component calls, describe and swap requests from other nodes, checking their bodies', async () => {
    const { MethodTable } = await import('../../src/transport/methods.ts');
    const { registerComponentMethods, overlayRemoteCaller, COMPONENT_CALL } =
      await import('../../src/components/remote.ts');
    const rt = makeRuntime();
    rt.install(counterDef('1.0.0'));
    await rt.start('counter');
    const methods = new MethodTable();
    registerComponentMethods(methods, rt);
    const ctx = { from: B } as Parameters<Parameters<typeof methods.register>[2]>[1];
    const invoke = async (method: string, body: unknown) => {
      const checked = methods.check(method, 'request', body);
      if (!checked.ok) throw new Error(checked.reason);
      return checked.handler(checked.body, ctx);
    };
    // The RemoteCaller side, with the overlay's call replaced by the method table above.
    const caller = overlayRemoteCaller((_node, method, body) => invoke(method, body));
    expect(await caller.call(B, 'counter', 'inc', ['x', 0])).toBe(1);
    await expect(invoke(COMPONENT_CALL, { component: 'counter', method: 'inc', args: 'no' })).rejects.toThrow(
      /args/,
    );
    await expect(invoke(COMPONENT_CALL, { component: '../x', method: 'inc', args: [] })).rejects.toThrow(
      /component/,
    );
    expect(((await invoke('component.describe', {})) as { components: unknown[] }).components).toHaveLength(
      1,
    );
    await expect(invoke('component.swap', { component: 'counter', rollback: true })).rejects.toThrow(
      /must name/,
    );
    // No registry on this runtime: the request is refused with a clear reason, and nothing changes.
    await expect(invoke('component.swap', { component: 'counter' })).rejects.toMatchObject({
      code: 'REFUSED',
    });
    expect(rt.get('counter')!.version).toBe('1.0.0');
  });
});
