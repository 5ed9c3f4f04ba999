// Profile fuzzing: the demo profile and every transcript vector's profile, mutated as JSON values (a
// field replaced by another type or an edge value, removed, added, repeated) or as JSON text. Every
// input parses or is refused by a ProfileError naming its JSON path; a parsed profile small enough to
// build quickly is built into a chip, which succeeds or is refused the same way.
import { readFileSync } from 'node:fs';
import { ProfileError, parseProfile } from '@mica/apdu-specs/profile';
import { cardImageFromProfile } from '@mica/card-os/factory';
import type { Draw } from './draw';
import { thrown, type FuzzSession, type FuzzTarget } from './fuzz-target';
import { mutateBytes } from './mutate';
import { transcriptFiles, VECTORS_DIR } from './transcripts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const DEMO_PROFILE = new URL('../../profiles/demo.json', import.meta.url).pathname;
/** Parsed profiles with at most this many blocks are also built (bigger chips cost milliseconds each). */
const BUILD_BLOCKS = 1024;

function profileTemplates(): Json[] {
  const out: Json[] = [JSON.parse(readFileSync(DEMO_PROFILE, 'utf8')) as Json];
  for (const iface of ['felica', 'apdu'] as const)
    for (const f of transcriptFiles(iface, VECTORS_DIR)) {
      const raw = JSON.parse(readFileSync(`${VECTORS_DIR}${f}`, 'utf8')) as { vectors: { profile: Json }[] };
      for (const v of raw.vectors) out.push(v.profile);
    }
  return out;
}

const EDGE_VALUES: readonly Json[] = [
  null,
  true,
  0,
  -1,
  1.5,
  255,
  256,
  65535,
  65536,
  4294967296,
  1e21,
  '',
  'zz',
  '0',
  'ffff',
  'FFFF',
  '0000',
  '00 11',
  '20261332',
  '0123456789abcdef',
  'x'.repeat(300),
  [],
  {},
  [null],
  { version: 1 },
];

interface Slot {
  readonly parent: Json[] | { [k: string]: Json };
  readonly key: string | number;
}

/** Every place in the tree a value sits. */
function slots(v: Json, out: Slot[] = []): Slot[] {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push({ parent: v, key: i });
      slots(x, out);
    });
  else if (v !== null && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) {
      out.push({ parent: v, key: k });
      slots(x, out);
    }
  return out;
}

function set(s: Slot, value: Json): void {
  if (Array.isArray(s.parent)) s.parent[s.key as number] = value;
  else s.parent[s.key as string] = value;
}

function get(s: Slot): Json {
  return Array.isArray(s.parent) ? s.parent[s.key as number]! : s.parent[s.key as string]!;
}

/** A hex or code string with one character changed, dropped or doubled. */
function tweakString(d: Draw, s: string): string {
  const at = s.length === 0 ? 0 : d.below(s.length);
  switch (d.below(4)) {
    case 0:
      return s.slice(0, at) + s.slice(at + 1);
    case 1:
      return s.slice(0, at) + d.pick(['0', 'f', 'g', ' ', 'A', '-']) + s.slice(at);
    case 2:
      return s + s.slice(0, 2);
    default:
      return s.toUpperCase();
  }
}

function mutateValue(d: Draw, root: Json): Json {
  const all = slots(root);
  const rounds = 1 + (d.byte() < 220 ? 0 : d.below(3));
  for (let i = 0; i < rounds && all.length > 0; i++) {
    const s = d.pick(all);
    const v = get(s);
    switch (d.below(6)) {
      case 0:
        set(s, d.pick(EDGE_VALUES));
        break;
      case 1:
        if (Array.isArray(s.parent)) s.parent.splice(s.key as number, 1);
        else Reflect.deleteProperty(s.parent, s.key);
        break;
      case 2:
        if (Array.isArray(s.parent)) s.parent.push(structuredClone(v));
        else
          s.parent[d.pick(['extra', 'Code', 'blocks', 'key', 'purse', 'overlaps', 'data'])] =
            d.pick(EDGE_VALUES);
        break;
      case 3:
        set(
          s,
          typeof v === 'string'
            ? tweakString(d, v)
            : typeof v === 'number'
              ? v + d.pick([-1, 1, 256, -256])
              : d.pick(EDGE_VALUES),
        );
        break;
      case 4:
        set(
          s,
          typeof v === 'number'
            ? String(v)
            : typeof v === 'string'
              ? Number.parseInt(v, 16) || 0
              : d.pick(EDGE_VALUES),
        );
        break;
      default:
        // Swap with another subtree of the same profile (structurally plausible, semantically wrong).
        set(s, structuredClone(get(d.pick(all))));
    }
  }
  return root;
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function profileFuzzTarget(): FuzzTarget {
  return {
    name: 'profiles',
    share: 1,
    open(d: Draw): FuzzSession {
      const templates = profileTemplates();
      return {
        next(log) {
          const base = structuredClone(d.pick(templates));
          let input: unknown;
          let how: string;
          if (d.byte() < 30) {
            const text = fromUtf8.decode(mutateBytes(d, utf8.encode(JSON.stringify(base))));
            try {
              input = JSON.parse(text) as unknown;
            } catch {
              return 'text (not JSON)';
            }
            how = 'text';
          } else {
            input = mutateValue(d, base);
            how = 'structured';
          }
          const shown = (): string => JSON.stringify(input).slice(0, 200);
          let profile: ReturnType<typeof parseProfile>;
          try {
            profile = parseProfile(input);
          } catch (e) {
            if (!(e instanceof ProfileError) || !e.path.startsWith('$') || !e.message.startsWith(e.path))
              log.fail(shown(), `refused without a ProfileError naming a JSON path: ${thrown(e)}`);
            return `${how}, refused`;
          }
          if (profile.chip.blocks > BUILD_BLOCKS) return `${how}, parsed`;
          try {
            cardImageFromProfile(profile);
          } catch (e) {
            if (!(e instanceof ProfileError) || !e.path.startsWith('$'))
              log.fail(shown(), `parsed, but building the chip ${thrown(e)}`);
            return `${how}, parsed, refused when built`;
          }
          return `${how}, parsed and built`;
        },
        finish() {},
      };
    },
  };
}
