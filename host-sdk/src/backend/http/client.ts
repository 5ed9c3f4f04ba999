// The HTTP side of the back-end interfaces: `HttpBackendLink` posts JSON to a served back-end
// (node:http) and returns the outcome it answered; `Http<Kind>Client` implements each kind's
// interface over it, so flows and the contract tests run unchanged against either side. A lost
// connection is a TransportError (link-lost or timeout) and follows the injected retry policy (safe:
// money-moving requests carry a txId, so a retry never moves money twice), and so is a 502 (the
// back-end's own peer did not answer); a 4xx other than 401/403 is a RequestError naming what the
// server refused.
import { request as httpRequest } from 'node:http';
import { noRetry, realSleep, withRetry, type RetryPolicy, type Sleep } from '../../transport/retry';
import { TransportError } from '../../transport/transport';
import type { KeyHolderLink, KeyHolderReply } from '../../keys/remote-key-holder';
import type { AuditView } from '../backend';
import type { Outcome } from '../outcome';
import { RequestError } from '../schema';
import type { BankBackend, BankHold, BankRequest } from '../kinds/bank';
import type { CreditBackend, CreditRequest } from '../kinds/credit';
import type { EMoneyBackend, EMoneyRequest } from '../kinds/emoney';
import type { BrandHolderBackend, BrandRequest } from '../kinds/brand';
import type { IssuerBackend, IssuerRequest } from '../kinds/issuer';
import type { ServiceCenterBackend, ServiceCenterRequest } from '../kinds/service-center';
import type { CybershopBackend, CybershopRequest } from '../kinds/cybershop';

export interface HttpLinkOptions {
  /** e.g. http://127.0.0.1:8080 */
  readonly baseUrl: string;
  /** The caller's 32-byte hex token from callers.json. */
  readonly token: string;
  readonly timeoutMs?: number;
  readonly retry?: RetryPolicy;
  readonly sleep?: Sleep;
}

export class HttpBackendLink {
  private readonly base: URL;

  constructor(private readonly options: HttpLinkOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'http:')
      throw new RangeError(`baseUrl must be http://host:port, got ${options.baseUrl}`);
  }

  /** POST /v1/<path> with `body`; resolves with the parsed JSON of a 200 or 401/403 answer. */
  post(path: string, body: unknown): Promise<unknown> {
    return withRetry(
      this.options.retry ?? noRetry,
      () => this.once('POST', path, body),
      this.options.sleep ?? realSleep,
    );
  }

  get(path: string): Promise<unknown> {
    return withRetry(
      this.options.retry ?? noRetry,
      () => this.once('GET', path, undefined),
      this.options.sleep ?? realSleep,
    );
  }

  private once(method: string, path: string, body: unknown): Promise<unknown> {
    const url = new URL(`/v1/${path}`, this.base);
    const text = body === undefined ? '' : JSON.stringify(body);
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${this.options.token}`,
            ...(body === undefined
              ? {}
              : {
                  'content-type': 'application/json',
                  'content-length': new TextEncoder().encode(text).length,
                }),
          },
          timeout: timeoutMs,
        },
        (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('error', (e) => reject(new TransportError('link-lost', `${url.href}: ${e.message}`)));
          res.on('end', () => {
            let json: unknown;
            try {
              json = JSON.parse(data);
            } catch {
              return reject(
                new TransportError('protocol', `${url.href} answered ${res.statusCode ?? '?'} without JSON`),
              );
            }
            const status = res.statusCode ?? 0;
            if (status === 200 || status === 401 || status === 403) return resolve(json);
            const message = (json as { message?: unknown }).message;
            // The back-end's own peer did not answer (server.ts): uncertain, as a lost response.
            if (status === 502)
              return reject(
                new TransportError(
                  'link-lost',
                  `${url.pathname} answered 502: ${typeof message === 'string' ? message : data}`,
                ),
              );
            reject(
              new RequestError(
                `${url.pathname} answered ${status}: ${typeof message === 'string' ? message : data}`,
              ),
            );
          });
        },
      );
      req.on('timeout', () =>
        req.destroy(new TransportError('timeout', `${url.href} did not answer within ${timeoutMs} ms`)),
      );
      req.on('error', (e) =>
        reject(
          e instanceof TransportError ? e : new TransportError('link-lost', `${url.href}: ${e.message}`),
        ),
      );
      req.end(text);
    });
  }
}

/** Shared by the kind clients: one method = one POST. */
abstract class HttpKindClient {
  abstract readonly kind: string;
  constructor(
    protected readonly link: HttpBackendLink,
    readonly id: string,
  ) {}
  protected call<T>(method: string, request: unknown): Promise<Outcome<T>> {
    return this.link.post(`${this.kind}/${this.id}/${method}`, request) as Promise<Outcome<T>>;
  }
  auditView(): Promise<Outcome<AuditView>> {
    return this.call('auditView', {});
  }
}

export class HttpBankClient extends HttpKindClient implements BankBackend {
  readonly kind = 'bank';
  openAccount = (r: BankRequest<'openAccount'>) => this.call<BankView>('openAccount', r);
  account = (r: BankRequest<'account'>) => this.call<BankView>('account', r);
  depositCash = (r: BankRequest<'depositCash'>) => this.call<BankView>('depositCash', r);
  withdrawCash = (r: BankRequest<'withdrawCash'>) => this.call<BankView>('withdrawCash', r);
  payToPeer = (r: BankRequest<'payToPeer'>) => this.call<BankView>('payToPeer', r);
  receiveFromPeer = (r: BankRequest<'receiveFromPeer'>) => this.call<BankView>('receiveFromPeer', r);
  holdFunds = (r: BankRequest<'holdFunds'>) => this.call<BankHold>('holdFunds', r);
  commitHold = (r: BankRequest<'commitHold'>) => this.call<BankHold>('commitHold', r);
  releaseHold = (r: BankRequest<'releaseHold'>) => this.call<BankHold>('releaseHold', r);
  openContract = (r: BankRequest<'openContract'>) =>
    this.call<ResultOf<BankBackend['openContract']>>('openContract', r);
  contractKey = (r: BankRequest<'contractKey'>) =>
    this.call<ResultOf<BankBackend['contractKey']>>('contractKey', r);
  exchangeKeys = (r: BankRequest<'exchangeKeys'>) =>
    this.call<ResultOf<BankBackend['exchangeKeys']>>('exchangeKeys', r);
  depositToPool = (r: BankRequest<'depositToPool'>) =>
    this.call<ResultOf<BankBackend['depositToPool']>>('depositToPool', r);
  commitDeposit = (r: BankRequest<'commitDeposit'>) =>
    this.call<ResultOf<BankBackend['commitDeposit']>>('commitDeposit', r);
  reverseDeposit = (r: BankRequest<'reverseDeposit'>) =>
    this.call<ResultOf<BankBackend['reverseDeposit']>>('reverseDeposit', r);
  withdrawPool = (r: BankRequest<'withdrawPool'>) =>
    this.call<ResultOf<BankBackend['withdrawPool']>>('withdrawPool', r);
  poolRows = (r: BankRequest<'poolRows'>) => this.call<ResultOf<BankBackend['poolRows']>>('poolRows', r);
  receiveStatement = (r: BankRequest<'receiveStatement'>) =>
    this.call<ResultOf<BankBackend['receiveStatement']>>('receiveStatement', r);
  runDeduction = (r: BankRequest<'runDeduction'>) =>
    this.call<ResultOf<BankBackend['runDeduction']>>('runDeduction', r);
  pkmaKey = (r: BankRequest<'pkmaKey'>) => this.call<ResultOf<BankBackend['pkmaKey']>>('pkmaKey', r);
  exchangePkma = (r: BankRequest<'exchangePkma'>) =>
    this.call<ResultOf<BankBackend['exchangePkma']>>('exchangePkma', r);
  pkmaIdentity = (r: BankRequest<'pkmaIdentity'>) =>
    this.call<ResultOf<BankBackend['pkmaIdentity']>>('pkmaIdentity', r);
  pkmaSign = (r: BankRequest<'pkmaSign'>) => this.call<ResultOf<BankBackend['pkmaSign']>>('pkmaSign', r);
}

type ResultOf<F> = F extends (...a: never[]) => Promise<Outcome<infer T>> ? T : never;
type BankView = ResultOf<BankBackend['account']>;

export class HttpCreditClient extends HttpKindClient implements CreditBackend {
  readonly kind = 'credit';
  openCardAccount = (r: CreditRequest<'openCardAccount'>) =>
    this.call<ResultOf<CreditBackend['openCardAccount']>>('openCardAccount', r);
  setLost = (r: CreditRequest<'setLost'>) => this.call<ResultOf<CreditBackend['setLost']>>('setLost', r);
  linkEmoney = (r: CreditRequest<'linkEmoney'>) =>
    this.call<ResultOf<CreditBackend['linkEmoney']>>('linkEmoney', r);
  registerCardKey = (r: CreditRequest<'registerCardKey'>) =>
    this.call<ResultOf<CreditBackend['registerCardKey']>>('registerCardKey', r);
  account = (r: CreditRequest<'account'>) => this.call<ResultOf<CreditBackend['account']>>('account', r);
  beginPurchase = (r: CreditRequest<'beginPurchase'>) =>
    this.call<ResultOf<CreditBackend['beginPurchase']>>('beginPurchase', r);
  purchaseValue = (r: CreditRequest<'purchaseValue'>) =>
    this.call<ResultOf<CreditBackend['purchaseValue']>>('purchaseValue', r);
  billing = (r: CreditRequest<'billing'>) => this.call<ResultOf<CreditBackend['billing']>>('billing', r);
  runCutoff = (r: CreditRequest<'runCutoff'>) =>
    this.call<ResultOf<CreditBackend['runCutoff']>>('runCutoff', r);
  authorizeCardNotPresent = (r: CreditRequest<'authorizeCardNotPresent'>) =>
    this.call<ResultOf<CreditBackend['authorizeCardNotPresent']>>('authorizeCardNotPresent', r);
  captureCardNotPresent = (r: CreditRequest<'captureCardNotPresent'>) =>
    this.call<ResultOf<CreditBackend['captureCardNotPresent']>>('captureCardNotPresent', r);
  reverseCardNotPresent = (r: CreditRequest<'reverseCardNotPresent'>) =>
    this.call<ResultOf<CreditBackend['reverseCardNotPresent']>>('reverseCardNotPresent', r);
  contractKey = (r: CreditRequest<'contractKey'>) =>
    this.call<ResultOf<CreditBackend['contractKey']>>('contractKey', r);
  exchangeKeys = (r: CreditRequest<'exchangeKeys'>) =>
    this.call<ResultOf<CreditBackend['exchangeKeys']>>('exchangeKeys', r);
  authorizeWithTokens = (r: CreditRequest<'authorizeWithTokens'>) =>
    this.call<ResultOf<CreditBackend['authorizeWithTokens']>>('authorizeWithTokens', r);
  reflections = (r: CreditRequest<'reflections'>) =>
    this.call<ResultOf<CreditBackend['reflections']>>('reflections', r);
  closeCycle = (r: CreditRequest<'closeCycle'>) =>
    this.call<ResultOf<CreditBackend['closeCycle']>>('closeCycle', r);
  receiveDeduction = (r: CreditRequest<'receiveDeduction'>) =>
    this.call<ResultOf<CreditBackend['receiveDeduction']>>('receiveDeduction', r);
  exceptions = (r: CreditRequest<'exceptions'>) =>
    this.call<ResultOf<CreditBackend['exceptions']>>('exceptions', r);
  pkmaAnchor = (r: CreditRequest<'pkmaAnchor'>) =>
    this.call<ResultOf<CreditBackend['pkmaAnchor']>>('pkmaAnchor', r);
  certifyCard = (r: CreditRequest<'certifyCard'>) =>
    this.call<ResultOf<CreditBackend['certifyCard']>>('certifyCard', r);
  certifyBank = (r: CreditRequest<'certifyBank'>) =>
    this.call<ResultOf<CreditBackend['certifyBank']>>('certifyBank', r);
}

export class HttpEMoneyClient extends HttpKindClient implements EMoneyBackend {
  readonly kind = 'emoney';
  registerUser = (r: EMoneyRequest<'registerUser'>) =>
    this.call<ResultOf<EMoneyBackend['registerUser']>>('registerUser', r);
  openingBalance = (r: EMoneyRequest<'openingBalance'>) =>
    this.call<ResultOf<EMoneyBackend['openingBalance']>>('openingBalance', r);
  prepareCharge = (r: EMoneyRequest<'prepareCharge'>) =>
    this.call<ResultOf<EMoneyBackend['prepareCharge']>>('prepareCharge', r);
  inquire = (r: EMoneyRequest<'inquire'>) => this.call<ResultOf<EMoneyBackend['inquire']>>('inquire', r);
  confirm = (r: EMoneyRequest<'confirm'>) => this.call<ResultOf<EMoneyBackend['confirm']>>('confirm', r);
  completeDelivery = (r: EMoneyRequest<'completeDelivery'>) =>
    this.call<ResultOf<EMoneyBackend['completeDelivery']>>('completeDelivery', r);
  failDelivery = (r: EMoneyRequest<'failDelivery'>) =>
    this.call<ResultOf<EMoneyBackend['failDelivery']>>('failDelivery', r);
  refundExpired = (r: EMoneyRequest<'refundExpired'> = {}) =>
    this.call<ResultOf<EMoneyBackend['refundExpired']>>('refundExpired', r);
  recordPayment = (r: EMoneyRequest<'recordPayment'>) =>
    this.call<ResultOf<EMoneyBackend['recordPayment']>>('recordPayment', r);
  charges = (r: EMoneyRequest<'charges'>) => this.call<ResultOf<EMoneyBackend['charges']>>('charges', r);
  user = (r: EMoneyRequest<'user'>) => this.call<ResultOf<EMoneyBackend['user']>>('user', r);
}

/** A RemoteKeyHolder link to /v1/<kind>/<id>/keyholder/<op>. */
export function httpKeyHolderLink(link: HttpBackendLink, kind: string, id: string): KeyHolderLink {
  return async (message) => {
    const { op, ...rest } = message;
    const answer = (await link.post(`${kind}/${id}/keyholder/${op}`, rest)) as Outcome<KeyHolderReply>;
    if (!answer.ok) throw new Error(`key holder ${kind}/${id} refused: ${answer.code} ${answer.message}`);
    return answer.result;
  };
}

/** GET /v1/_clock and POST /v1/_clock/advance of a server run with --clock virtual. */
export class HttpClockClient {
  constructor(private readonly link: HttpBackendLink) {}
  async now(): Promise<{ now: number; today: number; pending: number }> {
    return unwrap(await this.link.get('_clock'));
  }
  async advanceBy(ms: number): Promise<{ now: number; today: number; pending: number }> {
    return unwrap(await this.link.post('_clock/advance', { ms }));
  }
  async advanceTo(to: number): Promise<{ now: number; today: number; pending: number }> {
    return unwrap(await this.link.post('_clock/advance', { to }));
  }
}

function unwrap<T>(answer: unknown): T {
  const o = answer as Outcome<T>;
  if (!o.ok) throw new Error(`${o.code}: ${o.message}`);
  return o.result;
}

/** Seed 003 clients (flows.md 5.1): one POST per method, the same interfaces as the SQLite kinds. */
type R<B, M extends keyof B> = ResultOf<B[M]>;

export class HttpBrandClient extends HttpKindClient implements BrandHolderBackend {
  readonly kind = 'brand';
  setUp = (r: BrandRequest<'setUp'>) => this.call<R<BrandHolderBackend, 'setUp'>>('setUp', r);
  registerParticipant = (r: BrandRequest<'registerParticipant'>) =>
    this.call<R<BrandHolderBackend, 'registerParticipant'>>('registerParticipant', r);
  recordCustomer = (r: BrandRequest<'recordCustomer'>) =>
    this.call<R<BrandHolderBackend, 'recordCustomer'>>('recordCustomer', r);
  recordPermission = (r: BrandRequest<'recordPermission'>) =>
    this.call<R<BrandHolderBackend, 'recordPermission'>>('recordPermission', r);
  revokePermission = (r: BrandRequest<'revokePermission'>) =>
    this.call<R<BrandHolderBackend, 'revokePermission'>>('revokePermission', r);
  distributeKey = (r: BrandRequest<'distributeKey'>) =>
    this.call<R<BrandHolderBackend, 'distributeKey'>>('distributeKey', r);
  keyRegistry = (r: BrandRequest<'keyRegistry'> = {}) =>
    this.call<R<BrandHolderBackend, 'keyRegistry'>>('keyRegistry', r);
  participant = (r: BrandRequest<'participant'>) =>
    this.call<R<BrandHolderBackend, 'participant'>>('participant', r);
  customer = (r: BrandRequest<'customer'>) => this.call<R<BrandHolderBackend, 'customer'>>('customer', r);
  noticeLoad = (r: BrandRequest<'noticeLoad'>) =>
    this.call<R<BrandHolderBackend, 'noticeLoad'>>('noticeLoad', r);
  beginProxyLoad = (r: BrandRequest<'beginProxyLoad'>) =>
    this.call<R<BrandHolderBackend, 'beginProxyLoad'>>('beginProxyLoad', r);
  recordProxyLoad = (r: BrandRequest<'recordProxyLoad'>) =>
    this.call<R<BrandHolderBackend, 'recordProxyLoad'>>('recordProxyLoad', r);
  recordPayment = (r: BrandRequest<'recordPayment'>) =>
    this.call<R<BrandHolderBackend, 'recordPayment'>>('recordPayment', r);
  payments = (r: BrandRequest<'payments'> = {}) =>
    this.call<R<BrandHolderBackend, 'payments'>>('payments', r);
  proxyLoads = (r: BrandRequest<'proxyLoads'> = {}) =>
    this.call<R<BrandHolderBackend, 'proxyLoads'>>('proxyLoads', r);
  loadNotices = (r: BrandRequest<'loadNotices'> = {}) =>
    this.call<R<BrandHolderBackend, 'loadNotices'>>('loadNotices', r);
  runAccounting = (r: BrandRequest<'runAccounting'>) =>
    this.call<R<BrandHolderBackend, 'runAccounting'>>('runAccounting', r);
  period = (r: BrandRequest<'period'>) => this.call<R<BrandHolderBackend, 'period'>>('period', r);
  flushNotices = (r: BrandRequest<'flushNotices'> = {}) =>
    this.call<R<BrandHolderBackend, 'flushNotices'>>('flushNotices', r);
}

export class HttpIssuerClient extends HttpKindClient implements IssuerBackend {
  readonly kind = 'issuer';
  setUp = (r: IssuerRequest<'setUp'>) => this.call<R<IssuerBackend, 'setUp'>>('setUp', r);
  installKeyPackage = (r: IssuerRequest<'installKeyPackage'>) =>
    this.call<R<IssuerBackend, 'installKeyPackage'>>('installKeyPackage', r);
  heldKeys = (r: IssuerRequest<'heldKeys'> = {}) => this.call<R<IssuerBackend, 'heldKeys'>>('heldKeys', r);
  registerUser = (r: IssuerRequest<'registerUser'>) =>
    this.call<R<IssuerBackend, 'registerUser'>>('registerUser', r);
  user = (r: IssuerRequest<'user'>) => this.call<R<IssuerBackend, 'user'>>('user', r);
  signPermission = (r: IssuerRequest<'signPermission'>) =>
    this.call<R<IssuerBackend, 'signPermission'>>('signPermission', r);
  approveLoad = (r: IssuerRequest<'approveLoad'>) =>
    this.call<R<IssuerBackend, 'approveLoad'>>('approveLoad', r);
  recordLoad = (r: IssuerRequest<'recordLoad'>) => this.call<R<IssuerBackend, 'recordLoad'>>('recordLoad', r);
  settle = (r: IssuerRequest<'settle'>) => this.call<R<IssuerBackend, 'settle'>>('settle', r);
  loads = (r: IssuerRequest<'loads'> = {}) => this.call<R<IssuerBackend, 'loads'>>('loads', r);
  flushNotices = (r: IssuerRequest<'flushNotices'> = {}) =>
    this.call<R<IssuerBackend, 'flushNotices'>>('flushNotices', r);
}

export class HttpServiceCenterClient extends HttpKindClient implements ServiceCenterBackend {
  readonly kind = 'service-center';
  setUp = (r: ServiceCenterRequest<'setUp'>) => this.call<R<ServiceCenterBackend, 'setUp'>>('setUp', r);
  installKeyPackage = (r: ServiceCenterRequest<'installKeyPackage'>) =>
    this.call<R<ServiceCenterBackend, 'installKeyPackage'>>('installKeyPackage', r);
  heldKeys = (r: ServiceCenterRequest<'heldKeys'> = {}) =>
    this.call<R<ServiceCenterBackend, 'heldKeys'>>('heldKeys', r);
  registerTerminal = (r: ServiceCenterRequest<'registerTerminal'>) =>
    this.call<R<ServiceCenterBackend, 'registerTerminal'>>('registerTerminal', r);
  terminals = (r: ServiceCenterRequest<'terminals'> = {}) =>
    this.call<R<ServiceCenterBackend, 'terminals'>>('terminals', r);
  authorizeLoad = (r: ServiceCenterRequest<'authorizeLoad'>) =>
    this.call<R<ServiceCenterBackend, 'authorizeLoad'>>('authorizeLoad', r);
  recordLoad = (r: ServiceCenterRequest<'recordLoad'>) =>
    this.call<R<ServiceCenterBackend, 'recordLoad'>>('recordLoad', r);
  recordPayment = (r: ServiceCenterRequest<'recordPayment'>) =>
    this.call<R<ServiceCenterBackend, 'recordPayment'>>('recordPayment', r);
  transactions = (r: ServiceCenterRequest<'transactions'> = {}) =>
    this.call<R<ServiceCenterBackend, 'transactions'>>('transactions', r);
  settle = (r: ServiceCenterRequest<'settle'>) => this.call<R<ServiceCenterBackend, 'settle'>>('settle', r);
  flushNotices = (r: ServiceCenterRequest<'flushNotices'> = {}) =>
    this.call<R<ServiceCenterBackend, 'flushNotices'>>('flushNotices', r);
}

export class HttpCybershopClient extends HttpKindClient implements CybershopBackend {
  readonly kind = 'cybershop';
  setUp = (r: CybershopRequest<'setUp'>) => this.call<R<CybershopBackend, 'setUp'>>('setUp', r);
  addStock = (r: CybershopRequest<'addStock'>) => this.call<R<CybershopBackend, 'addStock'>>('addStock', r);
  inventory = (r: CybershopRequest<'inventory'> = {}) =>
    this.call<R<CybershopBackend, 'inventory'>>('inventory', r);
  placeOrder = (r: CybershopRequest<'placeOrder'>) =>
    this.call<R<CybershopBackend, 'placeOrder'>>('placeOrder', r);
  approveSale = (r: CybershopRequest<'approveSale'>) =>
    this.call<R<CybershopBackend, 'approveSale'>>('approveSale', r);
  completeSale = (r: CybershopRequest<'completeSale'>) =>
    this.call<R<CybershopBackend, 'completeSale'>>('completeSale', r);
  orders = (r: CybershopRequest<'orders'> = {}) => this.call<R<CybershopBackend, 'orders'>>('orders', r);
  settle = (r: CybershopRequest<'settle'>) => this.call<R<CybershopBackend, 'settle'>>('settle', r);
}
