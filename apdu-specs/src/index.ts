// apdu-specs: the wire vocabulary shared by card and host: frames, status flags, node codes, CRCs,
// frame codecs, EEPROM record layouts and the personalisation profile.
export * from './hex';
export * from './crc';
export * from './felica-frame';
export * from './node-code';
export * from './status-flags';
export * from './felica-commands';
export * from './eeprom-records';
export * from './record-layout';
export * from './profile';
export { generateReference } from './reference';
