// Typed record layouts over @solana/buffer-layout: the field list is the single declaration from which
// the TypeScript type, the codec and the generated reference are all derived.
import * as BL from '@solana/buffer-layout';

export type FieldKind = 'u8' | 'u16be' | 'u32be' | 'u16le' | 'u32le' | 'bytes';

export interface FieldSpec {
  readonly name: string;
  readonly kind: FieldKind;
  /** Byte count; required for `bytes`, implied for integers. */
  readonly size?: number;
  readonly doc: string;
}

type FieldValue<F extends FieldSpec> = F['kind'] extends 'bytes' ? Uint8Array : number;

/** The decoded value of a record: one property per declared field, named as declared. */
export type RecordValue<Fs extends readonly FieldSpec[]> = {
  [F in Fs[number] as F['name']]: FieldValue<F>;
};

export interface FieldInfo {
  readonly name: string;
  readonly kind: FieldKind;
  readonly offset: number;
  readonly size: number;
  readonly doc: string;
}

export interface RecordLayout<T> {
  readonly name: string;
  readonly doc: string;
  readonly span: number;
  readonly fields: readonly FieldInfo[];
  decode(bytes: Uint8Array, offset?: number): T;
  encode(value: T): Uint8Array;
  encodeInto(value: T, out: Uint8Array, offset?: number): void;
}

const INT_SIZE: Record<Exclude<FieldKind, 'bytes'>, number> = {
  u8: 1,
  u16be: 2,
  u32be: 4,
  u16le: 2,
  u32le: 4,
};

function fieldLayout(f: FieldSpec): BL.Layout<unknown> {
  switch (f.kind) {
    case 'u8':
      return BL.u8(f.name);
    case 'u16be':
      return BL.u16be(f.name);
    case 'u32be':
      return BL.u32be(f.name);
    case 'u16le':
      return BL.u16(f.name);
    case 'u32le':
      return BL.u32(f.name);
    case 'bytes':
      if (f.size === undefined) throw new RangeError(`field ${f.name} of kind bytes needs a size`);
      return BL.blob(f.size, f.name);
  }
}

/**
 * Declares a record. `span` (when given) is checked against the sum of the field sizes, so a layout
 * that does not fill its block exactly fails at load time, not on the wire.
 */
export function defineRecord<const Fs extends readonly FieldSpec[]>(
  name: string,
  doc: string,
  fields: Fs,
  span?: number,
): RecordLayout<RecordValue<Fs>> {
  const layouts = fields.map(fieldLayout);
  const struct = BL.struct<Record<string, unknown>>(layouts as BL.Layout<unknown>[], name);
  let offset = 0;
  const infos: FieldInfo[] = fields.map((f) => {
    const size = f.kind === 'bytes' ? f.size! : INT_SIZE[f.kind];
    const info = Object.freeze({ name: f.name, kind: f.kind, offset, size, doc: f.doc });
    offset += size;
    return info;
  });
  if (span !== undefined && offset !== span)
    throw new RangeError(`record ${name} spans ${offset} bytes, not ${span}`);
  const total = offset;
  const encodeInto = (value: RecordValue<Fs>, out: Uint8Array, at = 0): void => {
    const v = value as Record<string, unknown>;
    for (const f of infos) {
      const x = v[f.name];
      if (f.kind === 'bytes') {
        if (!(x instanceof Uint8Array) || x.length !== f.size)
          throw new RangeError(`${name}.${f.name} must be ${f.size} bytes`);
      } else if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= 2 ** (8 * f.size)) {
        throw new RangeError(
          `${name}.${f.name} must be an unsigned ${8 * f.size}-bit integer, got ${String(x)}`,
        );
      }
    }
    struct.encode(v, out, at);
  };
  return Object.freeze({
    name,
    doc,
    span: total,
    fields: Object.freeze(infos),
    decode(bytes: Uint8Array, at = 0): RecordValue<Fs> {
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`${name}: bytes must be a Uint8Array`);
      if (bytes.length - at < total)
        throw new RangeError(`${name}: needs ${total} bytes, got ${bytes.length - at}`);
      const raw = struct.decode(bytes, at);
      // buffer-layout hands back Buffer slices; the API promises plain, independent Uint8Arrays.
      for (const f of infos) if (f.kind === 'bytes') raw[f.name] = Uint8Array.from(raw[f.name] as Uint8Array);
      return raw as RecordValue<Fs>;
    },
    encode(value: RecordValue<Fs>): Uint8Array {
      const out = new Uint8Array(total);
      encodeInto(value, out, 0);
      return out;
    },
    encodeInto,
  });
}
