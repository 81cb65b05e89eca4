#!/usr/bin/env node
/**
 * Makes @jazzer.js/fuzzer's prebuilt addon load on glibc < 2.38 / libstdc++ < 13 (Debian 12).
 *
 * The 4.0.0 prebuild (fuzzer-linux-x64.node, shipped inside the npm package) needs two symbols
 * of glibc 2.38 (__isoc23_strtol, __isoc23_strtoul: the C23 strtol family, which only adds
 * 0b-prefixed binary parsing) and one of GLIBCXX_3.4.32 (std::ios_base_library_init, a link-time
 * marker that is never called). This rewrites the ELF in place, idempotently: the two C23
 * symbols are renamed to strtol/strtoul@GLIBC_2.2.5 (their names end in those), and the two
 * version requirements are marked weak (VER_FLG_WEAK), which the dynamic loader does not enforce.
 * The original is kept next to it as *.orig. Nothing is downloaded.
 */
const fs = require('fs');
const path = require('path');

function patch(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2) throw new Error(`${file}: not an ELF64 file`);
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const shstrndx = b.readUInt16LE(0x3e);
  const sh = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sh.push({ name: b.readUInt32LE(o), off: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)) });
  }
  const str = (sec, o) => {
    let e = sec.off + o;
    while (b[e]) e++;
    return b.toString('latin1', sec.off + o, e);
  };
  const byName = (n) => sh.find((s) => str(sh[shstrndx], s.name) === n);
  const dynsym = byName('.dynsym'), dynstr = byName('.dynstr'), versym = byName('.gnu.version'), verneed = byName('.gnu.version_r');
  const aux = [];
  for (let o = verneed.off; ;) {
    const cnt = b.readUInt16LE(o + 2), file = str(dynstr, b.readUInt32LE(o + 4)), next = b.readUInt32LE(o + 12);
    for (let a = o + b.readUInt32LE(o + 8), i = 0; i < cnt; i++) {
      aux.push({ at: a, file, name: str(dynstr, b.readUInt32LE(a + 8)), index: b.readUInt16LE(a + 6) });
      const n = b.readUInt32LE(a + 12);
      if (!n) break;
      a += n;
    }
    if (!next) break;
    o += next;
  }
  const base = aux.find((x) => x.file === 'libc.so.6' && x.name === 'GLIBC_2.2.5');
  let changed = 0;
  for (const x of aux) {
    if ((x.name === 'GLIBC_2.38' || x.name === 'GLIBCXX_3.4.32') && b.readUInt16LE(x.at + 4) !== 2) {
      b.writeUInt16LE(2, x.at + 4);
      changed++;
    }
  }
  const prefix = '__isoc23_';
  for (let i = 0; i < dynsym.size / 24; i++) {
    const so = dynsym.off + i * 24;
    if (str(dynstr, b.readUInt32LE(so)).startsWith(prefix) && base) {
      b.writeUInt32LE(b.readUInt32LE(so) + prefix.length, so);
      b.writeUInt16LE(base.index, versym.off + i * 2);
      changed++;
    }
  }
  if (changed) {
    if (!fs.existsSync(`${file}.orig`)) fs.copyFileSync(file, `${file}.orig`);
    fs.writeFileSync(file, b);
  }
  return changed;
}

const file = path.join(path.dirname(require.resolve('@jazzer.js/fuzzer/package.json')), 'prebuilds', `fuzzer-${process.platform}-${process.arch}.node`);
try {
  require(file);
  process.stdout.write(`jazzer-glibc-compat: ${path.basename(file)} loads as is\n`);
} catch (e) {
  if (!/GLIBC|GLIBCXX/.test(String(e.message))) throw e;
  const n = patch(file);
  require(file);
  process.stdout.write(`jazzer-glibc-compat: patched ${n} entries of ${file}; it loads now\n`);
}
