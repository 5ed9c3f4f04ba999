// The vector kinds this version checks, by `kind` name.
import type { Checker } from '../check-result';
import { checkCipher } from './cipher';
import { checkApduTranscript } from './apdu-transcript';
import { checkCrc } from './crc';
import { checkFelicaFrame } from './felica-frame';
import { checkFelicaTranscript } from './felica-transcript';
import { checkKeyDiversification } from './key-diversification';
import { checkMac } from './mac';
import { checkMutualAuth } from './mutual-auth';
import { checkReedSolomon } from './reed-solomon';
import { checkLineCode } from './line-code';
import { checkAirtime } from './airtime';
import { checkFelicaBudget } from './felica-budget';

export const KINDS: ReadonlyMap<string, Checker> = new Map<string, Checker>([
  ['crc', checkCrc],
  ['felica-frame', checkFelicaFrame],
  ['reed-solomon', checkReedSolomon],
  ['felica-transcript', checkFelicaTranscript],
  ['apdu-transcript', checkApduTranscript],
  ['cipher', checkCipher],
  ['mac', checkMac],
  ['mutual-auth', checkMutualAuth],
  ['key-diversification', checkKeyDiversification],
  ['line-code', checkLineCode],
  ['airtime', checkAirtime],
  ['felica-budget', checkFelicaBudget],
]);
