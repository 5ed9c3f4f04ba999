// The applet runtime: the card manager plus one applet per live registry record (06h), built by the
// factory of its kind. Instances are kept per card while their record lives, so their RAM state
// (sessions, verified PINs) survives between commands. A registered kind without a factory, or an
// applet not in the selectable state, refuses SELECT with 6A82 (apdu-specs applet-kinds).
import { APPLET_KINDS } from '@mica/apdu-specs/apdu/applet-kinds';
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { bytesToHex } from '@mica/apdu-specs/hex';
import type { CardContext } from '../dispatch/context';
import { APPLET_STATE, appletRegistry, type AppletEntry } from '../fs/applet-registry';
import type { ScannedRecord } from '../fs/file-system';
import type { Applet } from './applet';
import { AppletFirewall } from './applet-firewall';
import { bankAppletFactory } from '../applets/bank';
import { creditAppletFactory } from '../applets/credit';
import { emoneyAppletFactory } from '../applets/emoney';
import { settlementAppletFactory } from '../applets/settlement';
import { CardManager } from './card-manager';
import { IsoError } from './iso-error';

/** Builds the applet of one registry entry; `firewall` is all of EEPROM it may reach. */
export type AppletFactory = (entry: AppletEntry, firewall: (card: CardContext) => AppletFirewall) => Applet;

interface RuntimeState {
  records: readonly ScannedRecord[] | undefined;
  list: readonly Applet[];
  instances: Map<string, Applet>;
  readonly manager: CardManager;
}

/** A registered applet whose kind has no implementation yet: visible, but SELECT answers 6A82. */
function unavailable(entry: AppletEntry): Applet {
  return {
    aid: entry.aid,
    select: () => {
      throw new IsoError(SW.NOT_FOUND, `applet kind ${entry.kind} is not available`);
    },
    process: () => {
      throw new IsoError(SW.COMMAND_NOT_ALLOWED);
    },
    deselect: () => undefined,
  };
}

/**
 * An applet answers only while its record lives: once DELETE marks it, a channel that still has it
 * selected gets 6A82 for every command (its instance is dropped from the list at the same time).
 */
function guarded(applet: Applet, entry: AppletEntry): Applet {
  const alive = (card: CardContext): boolean =>
    appletRegistry(card.fs).some((e) => e.recordAddress === entry.recordAddress);
  return {
    aid: applet.aid,
    select: (ctx) => {
      if (!alive(ctx.card)) throw new IsoError(SW.NOT_FOUND);
      return applet.select(ctx);
    },
    process: (apdu, ctx) => {
      if (!alive(ctx.card)) throw new IsoError(SW.NOT_FOUND, 'the applet was deleted');
      return applet.process(apdu, ctx);
    },
    deselect: (ctx) => applet.deselect(ctx),
  };
}

function keyOf(e: AppletEntry): string {
  return `${e.recordAddress}:${e.kind}:${e.system}:${e.area}:${e.state}:${bytesToHex(e.aid)}`;
}

/** The factories of the implemented kinds: what the default runtime builds. */
export const DEFAULT_APPLET_FACTORIES: ReadonlyMap<number, AppletFactory> = new Map([
  [APPLET_KINDS.emoney, emoneyAppletFactory()],
  [APPLET_KINDS.settlement, settlementAppletFactory()],
  [APPLET_KINDS.bank, bankAppletFactory],
  [APPLET_KINDS.credit, creditAppletFactory],
]);

/** The `CardOptions.applets` of a card whose applets come from its registry. */
export function appletRuntime(
  factories: ReadonlyMap<number, AppletFactory> = DEFAULT_APPLET_FACTORIES,
): (card: CardContext) => readonly Applet[] {
  const states = new WeakMap<CardContext, RuntimeState>();
  return (card) => {
    let st = states.get(card);
    if (!st) {
      st = { records: undefined, list: [], instances: new Map(), manager: new CardManager() };
      states.set(card, st);
    }
    const records = card.fs.index.records;
    if (st.records === records) return st.list;
    const instances = new Map<string, Applet>();
    const list: Applet[] = [st.manager];
    for (const entry of appletRegistry(card.fs)) {
      const key = keyOf(entry);
      const factory = factories.get(entry.kind);
      const applet =
        st.instances.get(key) ??
        (factory && entry.state === APPLET_STATE.selectable
          ? guarded(
              factory(entry, (c) => new AppletFirewall(c.fs, { system: entry.system, area: entry.area })),
              entry,
            )
          : unavailable(entry));
      instances.set(key, applet);
      list.push(applet);
    }
    st.records = records;
    st.list = list;
    st.instances = instances;
    return list;
  };
}
