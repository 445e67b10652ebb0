import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, chownSync } from 'node:fs';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { describe, expect, test } from 'vitest';
import { decompress, detectCompression } from '../../src/archive/compress.js';
import { TarReader } from '../../src/archive/tar/reader.js';
import { encodeHeader, END_OF_ARCHIVE, paddingFor } from '../../src/archive/tar/writer.js';
import { makeHeader, type TarHeader } from '../../src/archive/tar/header.js';
import { ErrInvalidArchive, ErrNotSupported, is } from '../../src/errors.js';
import { lsetxattr } from '../../src/native.js';
import { tempDir } from '../helpers/tmp.js';
import { buildTar } from './fixtures/tar-builder.js';
import { CAP_SETUID_SETGID, collect, parseTar } from './fixtures/helpers.js';

interface ReadEntry {
  header: TarHeader;
  body: string;
}

async function readAll(tar: Buffer | Readable, chunk = 0): Promise<ReadEntry[]> {
  let source: AsyncIterable<Buffer>;
  if (Buffer.isBuffer(tar)) {
    const parts: Buffer[] = [];
    const step = chunk > 0 ? chunk : tar.length || 1;
    for (let i = 0; i < tar.length; i += step) parts.push(tar.subarray(i, i + step));
    source = Readable.from(parts, { objectMode: false });
  } else source = tar;
  const reader = new TarReader(source);
  const out: ReadEntry[] = [];
  for (let h = await reader.next(); h !== undefined; h = await reader.next()) {
    const parts: Buffer[] = [];
    for await (const c of reader.body()) parts.push(c);
    out.push({ header: h, body: Buffer.concat(parts).toString('latin1') });
  }
  return out;
}

function header(partial: Partial<TarHeader> & { name: string }): TarHeader {
  return makeHeader({ type: 'file', mode: 0o644, mtime: { sec: 1_600_000_000, nsec: 0 }, ...partial });
}

function tarOf(entries: Array<{ h: TarHeader; body?: Buffer }>): Buffer {
  const parts: Buffer[] = [];
  for (const { h, body } of entries) {
    parts.push(encodeHeader(h));
    if (body) parts.push(body, paddingFor(body.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

describe('tar reader', () => {
  test('reads what tar-stream writes, whatever the chunking', async () => {
    const p = pack();
    p.entry({ name: 'dir/', type: 'directory', mode: 0o755, mtime: new Date(1_500_000_000_000) });
    p.entry({ name: 'dir/file', mode: 0o4755, uid: 12, gid: 34, mtime: new Date(1_500_000_000_000) }, 'content!');
    p.entry({ name: `long/${'n'.repeat(150)}`, mtime: new Date(0) }, 'x');
    p.entry({ name: 'sym', type: 'symlink', linkname: 'dir/file' });
    p.entry({ name: 'hard', type: 'link', linkname: 'dir/file' });
    p.entry({ name: 'tty', type: 'character-device', devmajor: 4, devminor: 64 });
    p.finalize();
    const tar = await collect(p);
    for (const chunk of [0, 1, 7, 513]) {
      const entries = await readAll(tar, chunk);
      expect(entries.map((e) => [e.header.name, e.header.type, e.body])).toEqual([
        ['dir/', 'dir', ''],
        ['dir/file', 'file', 'content!'],
        [`long/${'n'.repeat(150)}`, 'file', 'x'],
        ['sym', 'symlink', ''],
        ['hard', 'hardlink', ''],
        ['tty', 'char', ''],
      ]);
      const file = entries[1]!.header;
      expect([file.mode, file.uid, file.gid, file.mtime.sec]).toEqual([0o4755, 12, 34, 1_500_000_000]);
      expect(entries[3]!.header.linkname).toBe('dir/file');
      expect([entries[5]!.header.devmajor, entries[5]!.header.devminor]).toEqual([4, 64]);
    }
  });

  test('reads GNU tar archives in gnu and pax formats, with binary xattrs, big IDs and long names', async () => {
    const dir = tempDir();
    const src = `${dir}/src`;
    const longName = `${'a'.repeat(120)}/${'b'.repeat(120)}`;
    mkdirSync(`${src}/${'a'.repeat(120)}`, { recursive: true });
    writeFileSync(`${src}/${longName}`, 'deep');
    writeFileSync(`${src}/cap`, 'binary');
    // Owner first: a chown drops file capabilities.
    chownSync(`${src}/cap`, 3_000_000, 3_000_001);
    lsetxattr(`${src}/cap`, 'security.capability', CAP_SETUID_SETGID);
    symlinkSync(`../${'l'.repeat(150)}`, `${src}/longlink`);
    for (const format of ['gnu', 'pax']) {
      const tar = execFileSync('tar', ['--format', format, '--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', src, '-cf', '-', '.'], {
        maxBuffer: 1 << 26,
      });
      const byName = new Map((await readAll(tar)).map((e) => [e.header.name.replace(/^\.\//, ''), e]));
      expect(byName.get(longName)?.body).toBe('deep');
      const cap = byName.get('cap')!.header;
      expect([cap.uid, cap.gid]).toEqual([3_000_000, 3_000_001]);
      expect(byName.get('longlink')!.header.linkname).toBe(`../${'l'.repeat(150)}`);
      if (format === 'pax') {
        const value = cap.xattrs.find(([n]) => n === 'security.capability')?.[1];
        expect(value?.equals(CAP_SETUID_SETGID)).toBe(true);
      }
    }
  });

  test('takes nanosecond and negative mtimes from PAX records', async () => {
    const tar = buildTar([
      { name: 'ns', pax: { mtime: '1600000000.123456789', atime: '1600000001.5' } },
      { name: 'neg', pax: { mtime: '-1.25' } },
    ]);
    const [ns, neg] = await readAll(tar);
    expect(ns!.header.mtime).toEqual({ sec: 1_600_000_000, nsec: 123_456_789 });
    expect(ns!.header.atime).toEqual({ sec: 1_600_000_001, nsec: 500_000_000 });
    expect(neg!.header.mtime).toEqual({ sec: -2, nsec: 750_000_000 });
  });

  test('treats a legacy NUL-typed entry with a trailing slash as a directory', async () => {
    const tar = buildTar([{ name: 'old/', type: '\0', magic: 'v7' }]);
    expect((await readAll(tar))[0]!.header.type).toBe('dir');
  });
});

describe('tar writer', () => {
  test('formats USTAR fields as Go does: zero-padded octal, NUL, checksum with NUL and space', () => {
    const block = encodeHeader(header({ name: 'etc/hosts', size: 5, uid: 1000, gid: 1000 }));
    expect(block.length).toBe(512);
    expect(block.toString('latin1', 100, 108)).toBe('0000644\0');
    expect(block.toString('latin1', 108, 116)).toBe('0001750\0');
    expect(block.toString('latin1', 124, 136)).toBe('00000000005\0');
    expect(block.toString('latin1', 136, 148)).toBe('13727410000\0');
    expect(block.toString('latin1', 257, 265)).toBe('ustar\u000000');
    expect(block.toString('latin1', 329, 345)).toBe('0000000\u00000000000\0');
    expect(block.toString('latin1', 154, 156)).toBe('\0 ');
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
    expect(parseInt(block.toString('latin1', 148, 154), 8)).toBe(sum);
  });

  test('splits long ASCII names into the USTAR prefix, and uses PAX only when it must', async () => {
    const name = `${'p'.repeat(120)}/${'n'.repeat(60)}`;
    const split = encodeHeader(header({ name }));
    expect(split.length).toBe(512);
    expect(split.toString('latin1', 345, 345 + 120)).toBe('p'.repeat(120));
    const pax = encodeHeader(header({ name: 'x'.repeat(101) }));
    expect(pax.length).toBe(3 * 512);
    expect(pax.toString('latin1', 0, 15)).toBe('PaxHeaders.0/xx');
    const entries = await parseTar(Buffer.concat([split, pax, END_OF_ARCHIVE]));
    expect(entries.map((e) => e.name)).toEqual([name, 'x'.repeat(101)]);
  });

  test('keeps binary xattrs, big IDs and nanosecond times through GNU tar', () => {
    const dir = tempDir();
    const body = Buffer.from('setuid helper');
    const tar = tarOf([
      { h: header({ name: 'bin/', type: 'dir', mode: 0o755 }) },
      {
        h: header({
          name: 'bin/helper',
          size: body.length,
          mode: 0o4755,
          uid: 3_000_000,
          gid: 70,
          mtime: { sec: 1_600_000_000, nsec: 5 },
          xattrs: [['security.capability', CAP_SETUID_SETGID], ['user.note', Buffer.from([0xff, 0x00, 0x80])]],
        }),
        body,
      },
    ]);
    writeFileSync(`${dir}/layer.tar`, tar);
    mkdirSync(`${dir}/out`);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', `${dir}/layer.tar`, '-C', `${dir}/out`]);
    expect(readFileSync(`${dir}/out/bin/helper`, 'utf8')).toBe('setuid helper');
    const listing = execFileSync('stat', ['-c', '%a %u %g %y', `${dir}/out/bin/helper`], { encoding: 'utf8' });
    expect(listing).toMatch(/^4755 3000000 70 2020-09-13 \d\d:26:40\.000000005/);
    const caps = execFileSync('getfattr', ['-e', 'hex', '-n', 'security.capability', `${dir}/out/bin/helper`], { encoding: 'utf8' });
    expect(caps).toContain(`0x${CAP_SETUID_SETGID.toString('hex')}`);
    const note = execFileSync('getfattr', ['-e', 'hex', '-n', 'user.note', `${dir}/out/bin/helper`], { encoding: 'utf8' });
    expect(note).toContain('0xff0080');
  });

  test('round-trips every entry type through strata’s own reader', async () => {
    const headers = [
      header({ name: 'd/', type: 'dir', mode: 0o1777 }),
      header({ name: 'd/f', size: 3, mode: 0o2755, uid: 5, gid: 6 }),
      header({ name: 'd/l', type: 'symlink', linkname: '/abs/target', mode: 0o777 }),
      header({ name: 'd/h', type: 'hardlink', linkname: 'd/f' }),
      header({ name: 'd/b', type: 'block', devmajor: 8, devminor: 1 }),
      header({ name: 'd/p', type: 'fifo' }),
      header({ name: 'ünïcödé/ñ', type: 'dir' }),
    ];
    const tar = tarOf(headers.map((h) => ({ h, body: h.size > 0 ? Buffer.from('abc') : undefined })));
    const back = (await readAll(tar)).map((e) => e.header);
    expect(back).toEqual(headers);
  });
});

describe('compression', () => {
  const plain = buildTar([{ name: 'hello', body: 'world' }]);

  test('detects gzip and zstd by magic and decompresses both', async () => {
    const zst = execFileSync('zstd', ['-q', '-c'], { input: plain });
    expect(detectCompression(gzipSync(plain))).toBe('gzip');
    expect(detectCompression(zst)).toBe('zstd');
    expect(detectCompression(plain)).toBe('none');
    for (const data of [plain, gzipSync(plain), zst]) {
      const entries = await readAll(Readable.from(decompress(Readable.from([data]))));
      expect(entries.map((e) => [e.header.name, e.body])).toEqual([['hello', 'world']]);
    }
  });

  test('a corrupt gzip or zstd stream is an invalid archive; xz is not supported', async () => {
    const gz = gzipSync(plain);
    const zst = execFileSync('zstd', ['-q', '-c'], { input: plain });
    for (const broken of [gz.subarray(0, gz.length - 10), zst.subarray(0, zst.length - 5)]) {
      const err = await collect(Readable.from(decompress(Readable.from([broken])))).catch((e: unknown) => e);
      expect(is(err, ErrInvalidArchive)).toBe(true);
    }
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
    const err = await collect(Readable.from(decompress(Readable.from([xz])))).catch((e: unknown) => e);
    expect(is(err, ErrNotSupported)).toBe(true);
  });
});
