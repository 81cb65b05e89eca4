import createDebug from 'debug';
import { createRtNetlink } from 'netlink';

const log = createDebug('ovs-dpemu:ovs:netdev-watch');

/** LinkWatch is a subscription to the namespace's link notifications. */
export interface LinkWatch {
  close(): void;
}

/**
 * watchLinks calls `changed` on every RTM_NEWLINK / RTM_DELLINK of the emulator's namespace
 * (rtnetlink group RTNLGRP_LINK): the userspace view of the netdevice notifier that makes the
 * kernel detach a vport whose device is unregistered, so that the emulator reacts before a
 * client that watches the same notifications (ovs-vswitchd) looks at the port. Undefined (and
 * logged) when the socket cannot be opened; the server's periodic check remains.
 */
export function watchLinks(changed: () => void): LinkWatch | undefined {
  try {
    const rt = createRtNetlink();
    rt.addMembership('LINK');
    rt.on('message', (msgs) => {
      if (msgs.some((m) => m.kind === 'link')) changed();
    });
    rt.socket.unref();
    return { close: () => rt.socket.socket.close() };
  } catch (e) {
    log('rtnetlink link notifications unavailable: %s', (e as Error).message);
    return undefined;
  }
}
