import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** The Debian package whose tarball holds the kernel selftests (installed by .ci/run). */
export const LINUX_SOURCE = '/usr/src/linux-source-6.12.tar.xz';
const MEMBER = 'linux-source-6.12/tools/testing/selftests/net/openvswitch/ovs-dpctl.py';

/**
 * extractOvsDpctlPy pulls the kernel selftests' ovs-dpctl.py out of Debian's linux-source
 * tarball into a temporary folder (it is GPL kernel code: extracted at test time, never
 * committed). Returns its path.
 */
export function extractOvsDpctlPy(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'selftest-'));
  const r = spawnSync('tar', ['-xJf', LINUX_SOURCE, '-C', dir, MEMBER], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cannot extract ${MEMBER} from ${LINUX_SOURCE}: ${r.stderr}`);
  return path.join(dir, MEMBER);
}
