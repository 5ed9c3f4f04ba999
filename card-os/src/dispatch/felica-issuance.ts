// Issuance commands 80h-88h: parameters in an encrypted, MAC'd package (apdu-specs ISSUANCE_PACKAGES),
// authorised by the session's node list, applied atomically by the file-system operations.
import { unpad2 } from '@mica/apdu-specs/crypto/padding';
import { FELICA_SECURE_COMMANDS as S } from '@mica/apdu-specs/felica-secure';
import { ROOT_AREA, SYSTEM_NODE, readNodeCodeLE, serviceAttribute } from '@mica/apdu-specs/node-code';
import { SF2 } from '@mica/apdu-specs/status-flags';
import { containingArea } from '../fs/file-system';
import { FsError } from '../fs/fs-error';
import {
  areaChain,
  changeKey,
  registerArea,
  registerIssueId,
  registerService,
  registerSystem,
  type NewKey,
} from '../fs/issue-ops';
import type { AreaNode, SystemView } from '../fs/nodes';
import type { AuthSession } from '../auth/session';
import type { CardContext } from './context';
import { openSecure, sealAnswer, sealRefusal } from './secure-gate';

class PackageReader {
  private at = 0;
  constructor(private readonly b: Uint8Array) {}
  private take(n: number): Uint8Array {
    if (this.at + n > this.b.length)
      throw new FsError(SF2.WRITE_FAILURE, 'the package is shorter than its fields');
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u8(): number {
    return this.take(1)[0]!;
  }
  be16(): number {
    const x = this.take(2);
    return (x[0]! << 8) | x[1]!;
  }
  be32(): number {
    const x = this.take(4);
    return ((x[0]! << 24) | (x[1]! << 16) | (x[2]! << 8) | x[3]!) >>> 0;
  }
  node(): number {
    return readNodeCodeLE(this.take(2), 0);
  }
  bytes(n: number): Uint8Array {
    return this.take(n).slice();
  }
  key(version: number): NewKey | undefined {
    const n = this.u8();
    if (n === 0) return undefined;
    if (n !== 16 && n !== 24) throw new FsError(SF2.WRITE_FAILURE, `key length ${n} is not 16 or 24`);
    return { version, value: this.bytes(n) };
  }
  end(): void {
    if (this.at !== this.b.length) throw new FsError(SF2.WRITE_FAILURE, 'bytes after the package fields');
  }
}

/** True when the session lists the system, the area, or one of the area's ancestors. */
function authorisedFor(session: AuthSession, view: SystemView, area: AreaNode | undefined): boolean {
  if (session.areas.includes(SYSTEM_NODE)) return true;
  return area !== undefined && areaChain(view, area).some((a) => session.areas.includes(a.code));
}

function requireAuth(ok: boolean, what: string): void {
  if (!ok) throw new FsError(SF2.AUTH_REQUIRED, `${what}: the session does not hold the parent's key`);
}

type Apply = (ctx: CardContext, view: SystemView, session: AuthSession, p: PackageReader) => void;

const APPLY: ReadonlyMap<number, Apply> = new Map<number, Apply>([
  [
    S.registerIssueId.code,
    (ctx, _view, session, p) => {
      requireAuth(session.areas.includes(SYSTEM_NODE), 'Register Issue ID');
      const cardId = p.bytes(8);
      const date = p.be32();
      const seq = p.be32();
      p.end();
      registerIssueId(ctx.fs, cardId, date, seq);
    },
  ],
  [
    S.registerArea.code,
    (ctx, view, session, p) => {
      const code = p.node();
      const end = p.node();
      const capacity = p.be16();
      const version = p.be16();
      const key = p.key(version);
      p.end();
      const parent = code === ROOT_AREA ? undefined : containingArea(view, code);
      requireAuth(
        code === ROOT_AREA ? session.areas.includes(SYSTEM_NODE) : authorisedFor(session, view, parent),
        'Register Area',
      );
      registerArea(ctx.fs, { system: view.system.number, code, end, capacity, key });
    },
  ],
  [
    S.registerService.code,
    (ctx, view, session, p) => {
      const code = p.node();
      const blocks = p.be16();
      const overlapOf = p.node();
      const version = p.be16();
      const key = p.key(version);
      const basePurse = serviceAttribute(code)?.family === 'purse' && overlapOf === SYSTEM_NODE;
      const purse = basePurse
        ? { maxBalance: p.be32(), logServiceCode: p.node(), requireLog: (p.u8() & 1) === 1 }
        : undefined;
      p.end();
      requireAuth(authorisedFor(session, view, containingArea(view, code)), 'Register Service');
      registerService(ctx.fs, { system: view.system.number, code, blocks, overlapOf, key, purse });
    },
  ],
  [
    S.changeKey.code,
    (ctx, view, session, p) => {
      const code = p.node();
      const version = p.be16();
      const key = p.key(version);
      p.end();
      if (!key) throw new FsError(SF2.WRITE_FAILURE, 'Change Key needs key material');
      const node = code === SYSTEM_NODE ? view.system : view.byCode.get(code);
      let ok: boolean;
      if (code === SYSTEM_NODE || code === ROOT_AREA) ok = session.areas.includes(SYSTEM_NODE);
      else if (node?.kind === 'area') {
        const parent = view.byCode.get(node.parent);
        ok = authorisedFor(session, view, parent?.kind === 'area' ? parent : undefined);
      } else ok = authorisedFor(session, view, containingArea(view, code));
      requireAuth(ok, 'Change Key');
      changeKey(ctx.fs, view.system.number, code, key);
    },
  ],
  [
    S.separateSystem.code,
    (ctx, view, session, p) => {
      const systemCode = p.be16();
      const capacity = p.be16();
      const version = p.be16();
      const key = p.key(version);
      p.end();
      requireAuth(view.system.number === 0 && session.areas.includes(SYSTEM_NODE), 'Separate System');
      if (!key) throw new FsError(SF2.WRITE_FAILURE, 'a separated system needs a system key');
      registerSystem(ctx.fs, { code: systemCode, capacity, key });
    },
  ],
]);

export function issuance(ctx: CardContext, view: SystemView, f: Uint8Array): Uint8Array | null {
  const apply = APPLY.get(f[1]!);
  if (!apply) return null;
  const gate = openSecure(ctx, view, f, 8);
  if (!gate.ok) return gate.answer;
  const req = gate.request;
  try {
    const enc = f.subarray(10, req.end);
    if (enc.length === 0 || enc.length % req.session.suite.blockSize !== 0)
      throw new FsError(SF2.WRITE_FAILURE, 'the package is not whole cipher blocks');
    const plain = req.channel.decrypt(req.ctr, enc);
    let params: Uint8Array;
    try {
      params = unpad2(plain, req.session.suite.blockSize);
    } catch {
      throw new FsError(SF2.WRITE_FAILURE, 'the package padding is wrong');
    }
    apply(ctx, view, req.session, new PackageReader(params));
    plain.fill(0);
    return sealAnswer(req, f, 0, 0);
  } catch (e) {
    if (e instanceof RangeError) return sealRefusal(req, f, new FsError(SF2.WRITE_FAILURE, e.message));
    return sealRefusal(req, f, e);
  }
}
