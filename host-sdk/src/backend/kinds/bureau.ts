// The `bureau` back-end (flows.md 1.1, 1.5): the certificate authority of every seed (seed 002's
// "authentication bureau"). It holds the root Ed25519 key (wrapped at rest), a self-signed root
// certificate, and every certificate it issued; `issue` signs a subject's public key for a role and a
// validity window on the shared clock. The bureau books no money (its ledger stays empty).
import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes } from '@mica/apdu-specs/hex';
import {
  CERT_ROLES,
  CertificateError,
  issueCertificate,
  parseCertificate,
  type CertRole,
} from '../../bureau/certificate';
import { refuse, type Outcome } from '../outcome';
import { hex, int, object, oneOf, optional, str, type Infer } from '../schema';
import { SqliteBackend, type Backend, type BackendContext, type PeerDirectory } from '../backend';

const roles = Object.keys(CERT_ROLES) as [CertRole, ...CertRole[]];
const subjectId = str({ max: 24, pattern: /^[\w.-]+$/, describe: 'a subject id of 1-24 characters' });
const seconds = int(0, 0xffffffff);

export const BUREAU_API = {
  auditView: object({}),
  /** Creates the root key and its self-signed certificate (once). */
  setUp: object({ notBefore: seconds, notAfter: seconds }),
  root: object({}),
  issue: object({
    subjectId,
    role: oneOf(roles.filter((r) => r !== 'root')),
    keyType: oneOf(['ed25519', 'x25519'] as const),
    publicKey: hex(32),
    /** Default: now, and the root's notAfter. */
    notBefore: optional(seconds),
    notAfter: optional(seconds),
  }),
  lookup: object({ subjectId, role: oneOf(roles) }),
} as const;

export type BureauRequest<M extends keyof typeof BUREAU_API> = Infer<(typeof BUREAU_API)[M]>;

export interface CertificateView {
  readonly certificate: string;
  readonly subjectId: string;
  readonly role: CertRole;
  readonly notBefore: number;
  readonly notAfter: number;
}

export interface BureauBackend extends Backend {
  setUp(r: BureauRequest<'setUp'>): Promise<Outcome<CertificateView>>;
  root(r: BureauRequest<'root'>): Promise<Outcome<CertificateView>>;
  issue(r: BureauRequest<'issue'>): Promise<Outcome<CertificateView>>;
  lookup(r: BureauRequest<'lookup'>): Promise<Outcome<CertificateView>>;
}

declare module '../backend' {
  interface KindInterfaces {
    bureau: BureauBackend;
  }
}

const MIGRATIONS = [
  `CREATE TABLE certificates (serial INTEGER PRIMARY KEY AUTOINCREMENT, subjectId TEXT NOT NULL, role TEXT NOT NULL,
     certificate TEXT NOT NULL, issuedAt INTEGER NOT NULL);
   CREATE INDEX certificates_subject ON certificates (subjectId, role);`,
];

const ROOT_KEY = 'root-signing-key';

export class SqliteBureau extends SqliteBackend implements BureauBackend {
  readonly kind = 'bureau';

  constructor(context: BackendContext) {
    super(context, MIGRATIONS, BUREAU_API);
  }

  setUp(request: BureauRequest<'setUp'>): Promise<Outcome<CertificateView>> {
    const r = this.checked<BureauRequest<'setUp'>>('setUp', request);
    return Promise.resolve(
      this.run('setUp', r, () => {
        if (this.secrets.get(ROOT_KEY)) refuse('E_BAD_STATE', '—', `bureau ${this.id} already has its root`);
        const key = this.rng.bytes(32);
        const cert = this.certify(
          {
            role: 'root',
            keyType: 'ed25519',
            subjectId: this.id,
            publicKey: ed25519.getPublicKey(key),
            notBefore: r.notBefore,
            notAfter: r.notAfter,
          },
          key,
        );
        this.secrets.put(ROOT_KEY, key);
        key.fill(0);
        return this.store(cert);
      }),
    );
  }

  root(request: BureauRequest<'root'>): Promise<Outcome<CertificateView>> {
    const r = this.checked<BureauRequest<'root'>>('root', request);
    return Promise.resolve(this.run('root', r, () => this.find(this.id, 'root')));
  }

  issue(request: BureauRequest<'issue'>): Promise<Outcome<CertificateView>> {
    const r = this.checked<BureauRequest<'issue'>>('issue', request);
    return Promise.resolve(
      this.run('issue', r, () => {
        const key = this.secrets.get(ROOT_KEY);
        if (!key) refuse('E_NOT_READY', '—', `bureau ${this.id} has no root yet (setUp)`);
        const root = parseCertificate(hexToBytes(this.find(this.id, 'root').certificate));
        const now = Math.floor(this.clock.now() / 1000);
        const cert = this.certify(
          {
            role: r.role,
            keyType: r.keyType,
            subjectId: r.subjectId,
            publicKey: hexToBytes(r.publicKey),
            notBefore: r.notBefore ?? now,
            notAfter: r.notAfter ?? root.notAfter,
          },
          key,
        );
        key.fill(0);
        return this.store(cert);
      }),
    );
  }

  lookup(request: BureauRequest<'lookup'>): Promise<Outcome<CertificateView>> {
    const r = this.checked<BureauRequest<'lookup'>>('lookup', request);
    return Promise.resolve(this.run('lookup', r, () => this.find(r.subjectId, r.role)));
  }

  private certify(req: Parameters<typeof issueCertificate>[0], key: Uint8Array): Uint8Array {
    try {
      return issueCertificate(req, this.id, key);
    } catch (e) {
      if (e instanceof CertificateError) refuse('E_BAD_STATE', '—', e.message);
      throw e;
    }
  }

  private store(cert: Uint8Array): CertificateView {
    const c = parseCertificate(cert);
    this.db
      .prepare('INSERT INTO certificates (subjectId, role, certificate, issuedAt) VALUES (?, ?, ?, ?)')
      .run(c.subjectId, c.role, bytesToHex(cert), this.clock.now());
    return {
      certificate: bytesToHex(cert),
      subjectId: c.subjectId,
      role: c.role,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
    };
  }

  private find(subject: string, role: CertRole): CertificateView {
    const row = this.db
      .prepare(
        'SELECT certificate FROM certificates WHERE subjectId = ? AND role = ? ORDER BY serial DESC LIMIT 1',
      )
      .get(subject, role) as { certificate: string } | undefined;
    if (!row) refuse('E_NOT_FOUND', '—', `bureau ${this.id} has no ${role} certificate for ${subject}`);
    const c = parseCertificate(hexToBytes(row.certificate));
    return {
      certificate: row.certificate,
      subjectId: c.subjectId,
      role: c.role,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
    };
  }
}

/**
 * A party's Ed25519 signing key certified by the bureau `bureauId`: the bureau's root and the party's
 * certificate (the setUp of the store and the settlement server).
 */
export async function certifyWithBureau(
  peers: PeerDirectory,
  bureauId: string,
  subjectId: string,
  role: BureauRequest<'issue'>['role'],
  signingKey: Uint8Array,
): Promise<Outcome<{ readonly root: string; readonly certificate: string }>> {
  const bureau = peers.peer('bureau', bureauId);
  const root = await bureau.root({});
  if (!root.ok) return root;
  const cert = await bureau.issue({
    subjectId,
    role,
    keyType: 'ed25519',
    publicKey: bytesToHex(ed25519.getPublicKey(signingKey)),
  });
  if (!cert.ok) return cert;
  return { ok: true, result: { root: root.result.certificate, certificate: cert.result.certificate } };
}
