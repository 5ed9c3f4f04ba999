// Manufacture of a blank chip: manufacture ID, issuance ID (zero), system definition block, system 0's
// record with its transport key, and the interface identity record when identity values are given.
import {
  CryptoSuite,
  RecordType,
  identityBlock0,
  identityBlock1,
  identityBlock2,
  keyBlockCount,
  manufactureIdBlock,
  systemDefinitionBlock,
  systemRecord,
  type CryptoSuiteCode,
} from '@mica/apdu-specs/eeprom-records';
import { Eeprom, type EepromOptions } from '../hal/eeprom';
import { keyBlocks } from './key-blocks';

export interface Iso14443Identity {
  readonly uid: Uint8Array;
  readonly atqa: Uint8Array;
  readonly sak: number;
  readonly ats: Uint8Array;
  readonly pupi: Uint8Array;
  readonly appData: Uint8Array;
  readonly protInfo: Uint8Array;
}

export interface ManufactureParams extends EepromOptions {
  readonly idm: Uint8Array;
  readonly pmm: Uint8Array;
  readonly suite: CryptoSuiteCode;
  readonly transportKey: Uint8Array;
  /** BCD YYYYMMDD, e.g. 0x20261121. */
  readonly date: number;
  readonly systemCode: number;
  readonly iso14443?: Iso14443Identity;
}

/** Expected key length for a suite: DES keys are given as 8 bytes and stored as K ‖ K. */
export function suiteKeyLength(suite: number): number {
  switch (suite) {
    case CryptoSuite.des:
      return 8;
    case CryptoSuite.tdes2:
    case CryptoSuite.aes128:
      return 16;
    case CryptoSuite.tdes3:
      return 24;
    default:
      throw new RangeError(`unknown crypto suite ${suite}`);
  }
}

/** Identity defaults of cli.md (`chip.iso14443`), from the IDm. */
export function defaultIdentity(idm: Uint8Array, given: Partial<Iso14443Identity> = {}): Iso14443Identity {
  const uid = given.uid ?? idm.slice(1, 8);
  const atqa = given.atqa ?? Uint8Array.of(uid.length === 4 ? 0x04 : uid.length === 7 ? 0x44 : 0x84, 0x00);
  return {
    uid,
    atqa,
    sak: given.sak ?? 0x20,
    ats: given.ats ?? Uint8Array.of(0x05, 0x78, 0x80, 0x70, 0x02),
    pupi: given.pupi ?? idm.slice(4, 8),
    appData: given.appData ?? new Uint8Array(4),
    protInfo: given.protInfo ?? Uint8Array.of(0x00, 0x81, 0x71),
  };
}

function identityBlocks(id: Iso14443Identity): Uint8Array[] {
  if (![4, 7, 10].includes(id.uid.length))
    throw new RangeError(`iso14443.uid must be 4, 7 or 10 bytes, got ${id.uid.length}`);
  if (id.uid[0] === 0x88) throw new RangeError('iso14443.uid must not start with 88h (the cascade tag)');
  if (id.atqa.length !== 2) throw new RangeError('iso14443.atqa must be 2 bytes');
  if (id.ats.length < 1 || id.ats.length > 14 || id.ats[0] !== id.ats.length)
    throw new RangeError('iso14443.ats must be 1 to 14 bytes with TL (its first byte) equal to its length');
  if (id.pupi.length !== 4) throw new RangeError('iso14443.pupi must be 4 bytes');
  if (id.appData.length !== 4) throw new RangeError('iso14443.appData must be 4 bytes');
  if (id.protInfo.length !== 3) throw new RangeError('iso14443.protInfo must be 3 bytes');
  const uid = new Uint8Array(10);
  uid.set(id.uid);
  const ats = new Uint8Array(14);
  ats.set(id.ats);
  return [
    identityBlock0.encode({
      type: RecordType.interfaceIdentity,
      index: 0,
      uidLength: id.uid.length,
      uid,
      atqa: id.atqa,
      sak: id.sak,
    }),
    identityBlock1.encode({ type: RecordType.interfaceIdentity, index: 1, ats }),
    identityBlock2.encode({
      type: RecordType.interfaceIdentity,
      index: 2,
      pupi: id.pupi,
      appData: id.appData,
      protInfo: id.protInfo,
      reserved: new Uint8Array(3),
    }),
  ];
}

/** Validates every parameter, then builds the chip; nothing is written for a bad parameter. */
export function manufacture(p: ManufactureParams): Eeprom {
  if (p.idm.length !== 8) throw new RangeError(`idm must be 8 bytes, got ${p.idm.length}`);
  if (p.idm[0]! >> 4 !== 0)
    throw new RangeError('idm: the upper nibble of byte 0 must be 0 (it carries the system number)');
  if (p.pmm.length !== 8) throw new RangeError(`pmm must be 8 bytes, got ${p.pmm.length}`);
  if (!Number.isInteger(p.systemCode) || p.systemCode < 0 || p.systemCode > 0xfffe)
    throw new RangeError('systemCode must be 0000h..FFFEh');
  const keyLen = suiteKeyLength(p.suite);
  if (p.transportKey.length !== keyLen)
    throw new RangeError(
      `transport key must be ${keyLen} bytes for this crypto suite, got ${p.transportKey.length}`,
    );
  const identity = p.iso14443 ? identityBlocks(p.iso14443) : [];
  const eeprom = new Eeprom(p);
  const top = eeprom.top;
  const keys = keyBlocks(p.suite, p.transportKey);
  const systemBlocks = 3 + 1 + keyBlockCount(p.suite) + identity.length;
  const writes = [
    {
      address: top,
      data: manufactureIdBlock.encode({
        manufacturerCode: p.idm.slice(0, 2),
        serial: p.idm.slice(2, 8),
        icCode: p.pmm.slice(0, 2),
        manufactureDate: p.date,
        layoutVersion: 1,
        cryptoSuite: p.suite,
      }),
    },
    {
      address: top - 2,
      data: systemDefinitionBlock.encode({
        systemCode: p.systemCode,
        userBlocks: 0,
        systemBlocks,
        pmmTiming: p.pmm.slice(2, 8),
        systemCount: 1,
        reserved: new Uint8Array(3),
      }),
    },
    {
      address: top - 3,
      data: systemRecord.encode({
        type: RecordType.system,
        systemNumber: 0,
        systemCode: p.systemCode,
        capacity: 0xffff,
        used: 0,
        keyVersion: 0,
        keyAlgorithm: p.suite,
        reserved: new Uint8Array(5),
      }),
    },
    ...keys.map((data, i) => ({ address: top - 4 - i, data })),
    ...identity.map((data, i) => ({ address: top - 4 - keys.length - i, data })),
  ];
  eeprom.powerOn();
  eeprom.commit(writes);
  return eeprom;
}
