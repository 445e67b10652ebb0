/**
 * A small in-memory filesystem over the FuseOps API, recording every call with its caller, so
 * tests can check both what the kernel saw and what reached the handlers.
 */
import type { FuseContext, FuseOps, FuseStat, Timespec } from '../../src/fuse/binding.js';
import { UTIME_NOW, UTIME_OMIT, timespecToNs } from '../../src/fuse/binding.js';

export interface MemNode {
  mode: number;
  uid: number;
  gid: number;
  ino: number;
  rdev: number;
  nlink: number;
  data: Buffer;
  target?: string;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  xattrs: Map<string, Buffer>;
}

export interface Call {
  op: string;
  args: unknown[];
  ctx: FuseContext;
}

function fail(code: string): never {
  throw Object.assign(new Error(code), { code });
}

const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

export class MemFs {
  readonly nodes = new Map<string, MemNode>();
  readonly calls: Call[] = [];
  readonly fhs = new Map<number, MemNode>();
  #nextFh = 10;
  #nextIno = 2;

  constructor() {
    this.add('/', 0o40777);
  }

  add(path: string, mode: number, init: Partial<MemNode> = {}): MemNode {
    const t = nowNs();
    const node: MemNode = {
      mode, uid: 0, gid: 0, ino: this.#nextIno++, rdev: 0, nlink: 1, data: Buffer.alloc(0),
      atimeNs: t, mtimeNs: t, ctimeNs: t, xattrs: new Map(), ...init,
    };
    this.nodes.set(path, node);
    return node;
  }

  get(path: string | null): MemNode {
    const node = path === null ? undefined : this.nodes.get(path);
    return node ?? fail('ENOENT');
  }

  count(op: string): number {
    return this.calls.filter((c) => c.op === op).length;
  }

  stat(node: MemNode): FuseStat {
    return {
      mode: node.mode, uid: node.uid, gid: node.gid, size: node.data.length, ino: node.ino, rdev: node.rdev,
      nlink: node.nlink, atimeNs: node.atimeNs, mtimeNs: node.mtimeNs, ctimeNs: node.ctimeNs,
    };
  }

  #open(node: MemNode): number {
    const fh = this.#nextFh++;
    this.fhs.set(fh, node);
    return fh;
  }

  #byFh(fh: number): MemNode {
    return this.fhs.get(fh) ?? fail('EBADF');
  }

  #children(dir: string): string[] {
    const prefix = dir === '/' ? '/' : `${dir}/`;
    return [...this.nodes.keys()].filter((p) => p !== '/' && p.startsWith(prefix) && !p.slice(prefix.length).includes('/'));
  }

  /** The handlers, each logging its call (minus buffers' contents) before acting. */
  ops(): FuseOps {
    const ops: FuseOps = {
      getattr: (path) => this.stat(this.get(path)),
      fgetattr: (_path, fh) => this.stat(this.#byFh(fh)),
      readdir: (path) => {
        const names = this.#children(path ?? fail('ENOENT'));
        return { names: names.map((p) => p.slice(p.lastIndexOf('/') + 1)), stats: names.map((p) => this.stat(this.get(p))) };
      },
      create: (path, mode, ctx) => this.#open(this.add(path, mode, { uid: ctx.uid, gid: ctx.gid })),
      open: (path) => this.#open(this.get(path)),
      release: (_path, fh) => {
        this.fhs.delete(fh);
      },
      read: (_path, fh, buf, len, pos) => this.#byFh(fh).data.copy(buf, 0, pos, pos + len),
      write: (_path, fh, buf, len, pos) => {
        const node = this.#byFh(fh);
        if (pos + len > node.data.length) {
          const grown = Buffer.alloc(pos + len);
          node.data.copy(grown);
          node.data = grown;
        }
        buf.copy(node.data, pos, 0, len);
        return len;
      },
      truncate: (path, size) => this.#resize(this.get(path), size),
      ftruncate: (_path, fh, size) => this.#resize(this.#byFh(fh), size),
      utimens: (path, atime, mtime) => {
        const node = this.get(path);
        node.atimeNs = pick(atime, node.atimeNs);
        node.mtimeNs = pick(mtime, node.mtimeNs);
      },
      mkdir: (path, mode, ctx) => void this.add(path, mode | 0o40000, { uid: ctx.uid, gid: ctx.gid, nlink: 2 }),
      mknod: (path, mode, rdev, ctx) => void this.add(path, mode, { rdev, uid: ctx.uid, gid: ctx.gid }),
      symlink: (target, path) => void this.add(path, 0o120777, { target, data: Buffer.from(target) }),
      readlink: (path) => this.get(path).target ?? fail('EINVAL'),
      unlink: (path) => {
        const node = this.get(path);
        node.nlink -= 1;
        this.nodes.delete(path);
      },
      rmdir: (path) => {
        if (this.#children(path).length) fail('ENOTEMPTY');
        this.get(path);
        this.nodes.delete(path);
      },
      rename: (src, dest) => {
        const node = this.get(src);
        this.nodes.delete(src);
        this.nodes.set(dest, node);
      },
      chmod: (path, mode) => {
        const node = this.get(path);
        node.mode = (node.mode & 0o170000) | (mode & 0o7777);
      },
      chown: (path, uid, gid) => {
        const node = this.get(path);
        if (uid !== 0xffffffff) node.uid = uid;
        if (gid !== 0xffffffff) node.gid = gid;
      },
      setxattr: (path, name, value, _position, flags) => {
        const node = this.get(path);
        if (flags === 1 && node.xattrs.has(name)) fail('EEXIST');
        if (flags === 2 && !node.xattrs.has(name)) fail('ENODATA');
        node.xattrs.set(name, Buffer.from(value));
      },
      getxattr: (path, name) => this.get(path).xattrs.get(name) ?? fail('ENODATA'),
      listxattr: (path) => [...this.get(path).xattrs.keys()],
      removexattr: (path, name) => {
        if (!this.get(path).xattrs.delete(name)) fail('ENODATA');
      },
      statfs: () => ({ bsize: 4096, blocks: 2n ** 34n, bfree: 2n ** 33n, bavail: 2n ** 33n, files: 1000, ffree: 900 }),
    };
    const logged: Record<string, unknown> = {};
    for (const [op, fn] of Object.entries(ops) as Array<[string, (...a: unknown[]) => unknown]>) {
      logged[op] = (...args: unknown[]) => {
        this.calls.push({ op, args: args.slice(0, -1).map((a) => (Buffer.isBuffer(a) ? a.length : a)), ctx: args.at(-1) as FuseContext });
        return fn(...args);
      };
    }
    return logged as FuseOps;
  }

  #resize(node: MemNode, size: number): void {
    const next = Buffer.alloc(size);
    node.data.copy(next, 0, 0, size);
    node.data = next;
  }
}

function pick(t: Timespec, old: bigint): bigint {
  if (t.nsec === UTIME_OMIT) return old;
  if (t.nsec === UTIME_NOW) return nowNs();
  return timespecToNs(t);
}
