import { Errno } from '../nl/errno';
import { NlError } from '../nl/errors';
import { attrU16, attrU32Array } from '../schema/codec';
import type { AttrSet, AttrSpec } from '../schema/model';
import { checkLenRule, forEachAttr, parseLiberal, type Attr } from '../schema/validate';
import { ARPHRD_ETHER, ARPHRD_NONE, type DeviceFactory, type HostNetdevs, type NetDevice } from './netdev';

/** OVS_VPORT_TYPE_* values, resolved from the schema's `vport-type` enum. */
export interface VportTypes {
  netdev: number;
  internal: number;
  gre: number;
  vxlan: number;
  geneve: number;
}

/** TunnelOptions are what a compat tunnel vport reports in OVS_VPORT_ATTR_OPTIONS. */
export interface TunnelOptions {
  dstPort?: number;
  gbp: boolean;
}

/** VportEnv is what creating a vport needs from its surroundings. */
export interface VportEnv {
  types: VportTypes;
  devices: DeviceFactory;
  host: HostNetdevs;
  /** nr_cpu_ids: the upcall pid array may not be longer. */
  nrCpus: number;
  /** Kind of an emulator-owned device with this name: internal ports and compat tunnel devices. */
  ownDevice(name: string): 'internal' | 'tunnel' | undefined;
  /** Host devices attached to a datapath (they have a master), by name, with that datapath. */
  attachedHostDevs: Map<string, object>;
  /** The vport-options attribute set (tunnel options), for parsing OPTIONS. */
  optionSet: AttrSet;
  /** The vport family's UPCALL_PID spec, whose length rule every pid array obeys. */
  upcallPidSpec: AttrSpec;
}

/** VportParms mirrors struct vport_parms. */
export interface VportParms {
  name: string;
  type: number;
  options?: Attr;
  portNo: number;
  upcallPids: Attr;
  desiredIfindex: number;
  /** The datapath the port joins (the master a netdev is linked to). */
  master?: object;
}

/** Vport is one datapath port (struct vport). */
export class Vport {
  upcallSuccess = 0n;
  upcallFail = 0n;

  constructor(
    readonly portNo: number,
    readonly type: number,
    readonly name: string,
    readonly dev: NetDevice,
    public upcallPids: number[],
    readonly options?: TunnelOptions,
    private readonly onDestroy?: () => void,
  ) {}

  /** destroy unlinks or unregisters the device (ovs_dp_detach_port → vport ops destroy). */
  destroy(): void {
    this.dev.destroy();
    this.onDestroy?.();
  }
}

/**
 * upcallPidsFrom validates and copies an UPCALL_PID array.
 * @throws {@link NlError} EINVAL when empty, not a multiple of 4, or longer than nr_cpu_ids.
 */
// kernel: ovs_vport_set_upcall_portids()
export function upcallPidsFrom(attr: Attr, env: VportEnv): number[] {
  checkLenRule(env.upcallPidSpec, attr);
  const pids = attrU32Array(attr) ?? [];
  const nrCpus = env.nrCpus;
  if (pids.length > nrCpus) throw new NlError(Errno.EINVAL);
  return pids;
}

/** nlaFindNested is nla_find_nested(): the first attribute of `type`, nothing validated. */
function nlaFindNested(nest: Attr, type: number | undefined): Attr | undefined {
  let found: Attr | undefined;
  forEachAttr(nest.payload, nest.offset + 4, (a) => {
    if (!found && a.type === type) found = a;
  });
  return found;
}

// kernel: vxlan_tnl_create() / geneve_tnl_create(): OVS_TUNNEL_ATTR_DST_PORT must be a u16
// (found with nla_find_nested(), no policy: a short or long one is EINVAL, not ERANGE).
function tunnelOptions(p: VportParms, env: VportEnv, needsPort: boolean): TunnelOptions | undefined {
  if (!needsPort) return undefined;
  if (!p.options) throw new NlError(Errno.EINVAL);
  const port = nlaFindNested(p.options, env.optionSet.byName.get('dst-port')?.type);
  if (!port || port.payload.length !== 2) throw new NlError(Errno.EINVAL);
  const ext = nlaFindNested(p.options, env.optionSet.byName.get('extension')?.type);
  let gbp = false;
  if (ext && p.type === env.types.vxlan) {
    // kernel: vxlan_configure_exts(): the nest must hold at least one attribute header.
    if (ext.payload.length < 4) throw new NlError(Errno.EINVAL);
    const exts = env.optionSet.byName.get('extension')?.nested;
    if (exts) gbp = parseLiberal(ext.payload, exts, exts.maxType, { base: ext.offset + 4, extack: {} }).get('gbp') !== undefined;
  }
  return { dstPort: attrU16(port), gbp };
}

// kernel: ovs_netdev_link()
function linkHostDevice(p: VportParms, env: VportEnv, pids: number[]): Vport {
  // Devices the datapath made exist too: an internal one is refused, a tunnel's has a master.
  const own = env.ownDevice(p.name);
  if (own === 'internal') throw new NlError(Errno.EINVAL);
  if (own === 'tunnel') throw new NlError(Errno.EBUSY);
  const host = env.host.lookup(p.name);
  if (!host) throw new NlError(Errno.ENODEV);
  if (host.loopback || (host.arphrd !== ARPHRD_ETHER && host.arphrd !== ARPHRD_NONE)) throw new NlError(Errno.EINVAL);
  // kernel: __netdev_upper_dev_link(): linked to this datapath already → EEXIST, to another master → EBUSY.
  const master = env.attachedHostDevs.get(p.name);
  if (master) throw new NlError(master === p.master ? Errno.EEXIST : Errno.EBUSY);
  if (host.hasMaster) throw new NlError(Errno.EBUSY);
  env.attachedHostDevs.set(p.name, p.master ?? env);
  const dev: NetDevice = env.devices.attachHost?.(host) ?? {
    name: host.name, ifindex: host.ifindex, stats: () => host.stats(), destroy: () => undefined,
    present: () => env.host.lookup(host.name)?.ifindex === host.ifindex,
  };
  return new Vport(p.portNo, p.type, p.name, dev, pids, undefined, () => env.attachedHostDevs.delete(p.name));
}

/**
 * createVport is ovs_vport_add() → vport_ops->create(): checks come in the order each vport
 * type's create function makes them.
 * @throws {@link NlError}
 */
export function createVport(p: VportParms, env: VportEnv): Vport {
  const t = env.types;
  switch (p.type) {
    case t.internal: {
      const pids = upcallPidsFrom(p.upcallPids, env);
      const dev = env.devices.createInternal(p.name, p.desiredIfindex);
      return new Vport(p.portNo, p.type, p.name, dev, pids);
    }
    case t.netdev:
      return linkHostDevice(p, env, upcallPidsFrom(p.upcallPids, env));
    case t.vxlan:
    case t.geneve:
    case t.gre: {
      const options = tunnelOptions(p, env, p.type !== t.gre);
      const pids = upcallPidsFrom(p.upcallPids, env);
      const dev = env.devices.createTunnel(p.name);
      return new Vport(p.portNo, p.type, p.name, dev, pids, options);
    }
    default:
      // No vport-type-N module can be loaded.
      throw new NlError(Errno.EAFNOSUPPORT);
  }
}
