// Seed 000's set-up between the parties (flows.md 2.3 step 0 and personalisation), shared by the
// host-sdk tests and the `mica run bank-credit-token` scenario: the key exchange of one (bank, credit
// company) contract in a key mode (202, 511, 601, 901), the `direct` hand-over of credit's
// certification key and the bank certificate it issues (1501), and the credit applet's credit-AP
// certificate (the credit key holder: AUTHENTICATE, GENERATE KEY PAIR, certifyCard, PUT CERTIFICATE).
// The deposit and the purchase are the terminals' (terminals/atm-terminal.ts, credit-terminal.ts).
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import { LocalAppletKeys, type RandomBytes } from '../applets/applet-keys';
import type { CreditClient } from '../applets/credit-client';
import type { BankBackend } from '../backend/kinds/bank';
import type { BureauBackend } from '../backend/kinds/bureau';
import type { CreditBackend } from '../backend/kinds/credit';
import { expectOk } from '../backend/outcome';
import type { AreaKey } from '../terminals/atm-terminal';
import type { KeyMode } from './token';

export interface ContractParties {
  readonly bank: BankBackend;
  readonly bankId: string;
  readonly credit: CreditBackend;
  readonly creditCoId: string;
  readonly bureau: BureauBackend;
  /** The bureau's root certificate (hex), for `ca`. */
  readonly root: string;
}

/**
 * Step 0 (202, 511, 601, 901): the contract and its key set `keyId` on both sides. `ca` exchanges
 * bureau certificates (bank Ed25519, credit X25519); `contract` exchanges the contract's public keys;
 * `common` stores `commonKey` (32 bytes, hex) on both sides.
 */
export async function exchangeContractKeys(
  p: ContractParties,
  keyMode: KeyMode,
  keyId: string,
  commonKey?: string,
): Promise<void> {
  expectOk(await p.bank.openContract({ creditCoId: p.creditCoId }));
  if (keyMode === 'common') {
    if (commonKey === undefined) throw new Error('key mode common needs the common key');
    expectOk(await p.bank.exchangeKeys({ creditCoId: p.creditCoId, keyMode, keyId, commonKey }));
    expectOk(await p.credit.exchangeKeys({ bankId: p.bankId, keyMode, keyId, commonKey }));
    return;
  }
  const bankPub = expectOk(await p.bank.contractKey({ creditCoId: p.creditCoId, keyId })).publicKey;
  const creditPub = expectOk(await p.credit.contractKey({ bankId: p.bankId, keyId, keyMode })).publicKey;
  if (keyMode === 'contract') {
    expectOk(await p.bank.exchangeKeys({ creditCoId: p.creditCoId, keyMode, keyId, creditKey: creditPub }));
    expectOk(await p.credit.exchangeKeys({ bankId: p.bankId, keyMode, keyId, bankKey: bankPub }));
    return;
  }
  const bc = expectOk(
    await p.bureau.issue({ subjectId: p.bankId, role: 'bank', keyType: 'ed25519', publicKey: bankPub }),
  ).certificate;
  const cc = expectOk(
    await p.bureau.issue({
      subjectId: p.creditCoId,
      role: 'credit',
      keyType: 'x25519',
      publicKey: creditPub,
    }),
  ).certificate;
  expectOk(
    await p.bank.exchangeKeys({ creditCoId: p.creditCoId, keyMode, keyId, certificate: cc, root: p.root }),
  );
  expectOk(await p.credit.exchangeKeys({ bankId: p.bankId, keyMode, keyId, certificate: bc, root: p.root }));
}

/**
 * Step 0 for `direct` [1501]: the bank's PK-MA key is certified by credit (role bank), and the bank
 * stores that certificate with credit's certification key (the card trust anchor) after checking it.
 */
export async function exchangeDirectKeys(p: ContractParties): Promise<void> {
  const publicKey = expectOk(await p.bank.pkmaKey({ creditCoId: p.creditCoId })).publicKey;
  const c = expectOk(await p.credit.certifyBank({ bankId: p.bankId, publicKey }));
  expectOk(
    await p.bank.exchangePkma({
      creditCoId: p.creditCoId,
      issuerId: c.issuerId,
      certificationKey: c.publicKey,
      certificate: c.certificate,
    }),
  );
}

/**
 * Personalisation for `direct`: the credit key holder authenticates the credit applet (3-pass),
 * GENERATE KEY PAIR, credit certifies the card's Ed25519 key for its IDm, PUT CERTIFICATE. Throws
 * with the step and status word that failed (a set-up error).
 */
export async function certifyCreditApplet(o: {
  readonly credit: CreditBackend;
  readonly creditApp: CreditClient;
  readonly areaKey: AreaKey;
  readonly random: RandomBytes;
  /** The card's IDm (8 bytes, GET DATA FF CA). */
  readonly idm: Uint8Array;
}): Promise<Uint8Array> {
  await o.creditApp.select();
  const k = o.areaKey;
  const keys = new LocalAppletKeys(k.suite, [{ code: k.code, key: hexToBytes(k.key) }], o.random);
  if (!(await o.creditApp.authenticate(keys)).ok) throw new Error('personalisation: AUTHENTICATE refused');
  const kp = await o.creditApp.generateKeyPair();
  if (!kp.ok) throw new Error(`personalisation: GENERATE KEY PAIR → ${kp.sw.toString(16)}`);
  const cert = hexToBytes(
    expectOk(await o.credit.certifyCard({ cardId: bytesToHex(o.idm), publicKey: bytesToHex(kp.ed25519) }))
      .certificate,
  );
  const put = await o.creditApp.putCertificate(cert);
  if (!put.ok) throw new Error(`personalisation: PUT CERTIFICATE → ${put.sw.toString(16)}`);
  return cert;
}
