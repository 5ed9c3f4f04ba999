// Encoding of the issuance packages' parameters (apdu-specs ISSUANCE_PACKAGES), before padding and
// encryption: node codes little-endian, system codes and other integers big-endian.

export interface PackageKey {
  readonly version: number;
  /** Stored form: 16 or 24 bytes. */
  readonly value: Uint8Array;
}

class Writer {
  private readonly bytes: number[] = [];
  u8(x: number): this {
    this.bytes.push(x & 0xff);
    return this;
  }
  be16(x: number): this {
    return this.u8(x >> 8).u8(x);
  }
  be32(x: number): this {
    return this.be16(x >>> 16).be16(x & 0xffff);
  }
  node(code: number): this {
    return this.u8(code).u8(code >> 8);
  }
  raw(b: Uint8Array): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  key(k: PackageKey | undefined): this {
    if (!k) return this.u8(0);
    if (k.value.length !== 16 && k.value.length !== 24)
      throw new RangeError('key material must be 16 or 24 bytes (stored form)');
    return this.u8(k.value.length).raw(k.value);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export function registerIssueIdPackage(p: {
  cardId: Uint8Array;
  issueDate: number;
  sequence: number;
}): Uint8Array {
  if (p.cardId.length !== 8) throw new RangeError('cardId must be 8 bytes');
  return new Writer().raw(p.cardId).be32(p.issueDate).be32(p.sequence).done();
}

export function registerAreaPackage(p: {
  code: number;
  end: number;
  capacity: number;
  key?: PackageKey | undefined;
}): Uint8Array {
  return new Writer()
    .node(p.code)
    .node(p.end)
    .be16(p.capacity)
    .be16(p.key?.version ?? 0)
    .key(p.key)
    .done();
}

export interface ServicePackage {
  readonly code: number;
  readonly blocks: number;
  /** FFFFh: a base service. */
  readonly overlapOf: number;
  readonly key?: PackageKey | undefined;
  /** Required for a base purse service (attribute 10h-17h, overlapOf FFFFh); absent otherwise. */
  readonly purse?:
    | { readonly maxBalance: number; readonly logServiceCode: number; readonly requireLog: boolean }
    | undefined;
}

export function registerServicePackage(p: ServicePackage): Uint8Array {
  const w = new Writer()
    .node(p.code)
    .be16(p.blocks)
    .node(p.overlapOf)
    .be16(p.key?.version ?? 0)
    .key(p.key);
  if (p.purse)
    w.be32(p.purse.maxBalance)
      .node(p.purse.logServiceCode)
      .u8(p.purse.requireLog ? 1 : 0);
  return w.done();
}

export function changeKeyPackage(p: { node: number; key: PackageKey }): Uint8Array {
  return new Writer().node(p.node).be16(p.key.version).key(p.key).done();
}

export function separateSystemPackage(p: {
  systemCode: number;
  capacity: number;
  key: PackageKey;
}): Uint8Array {
  return new Writer().be16(p.systemCode).be16(p.capacity).be16(p.key.version).key(p.key).done();
}
