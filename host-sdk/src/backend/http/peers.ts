// Peers over HTTP for any kind: `httpPeer(link, kind, id)` is an object whose every method posts to
// /v1/<kind>/<id>/<method> and returns the answered outcome, so a kind needs no hand-written client
// to be reached over the network (the typed Http<Kind>Client classes remain for the kinds that have
// them). `HttpPeerDirectory` resolves every peer that way: a World given it as `peers` makes its
// back-end-to-back-end calls over HTTP too.
import type { KindInterfaces, PeerDirectory } from '../backend';
import type { HttpBackendLink } from './client';

const NOT_METHODS = new Set(['then', 'toJSON', 'constructor']);

export function httpPeer<K extends keyof KindInterfaces>(
  link: HttpBackendLink,
  kind: K,
  id: string,
): KindInterfaces[K] {
  const target = { kind, id };
  return new Proxy(target, {
    get(t, name) {
      if (name === 'kind' || name === 'id') return t[name];
      // Not a thenable, not serialisable as a method table: only string method names post.
      if (typeof name !== 'string' || NOT_METHODS.has(name)) return undefined;
      return (request: unknown = {}) => link.post(`${String(kind)}/${id}/${name}`, request);
    },
  }) as unknown as KindInterfaces[K];
}

/** Every peer over one HTTP link; `connect` sets the link once the server listens. */
export class HttpPeerDirectory implements PeerDirectory {
  private link: HttpBackendLink | undefined;

  constructor(link?: HttpBackendLink) {
    this.link = link;
  }

  connect(link: HttpBackendLink): void {
    this.link = link;
  }

  peer<K extends keyof KindInterfaces>(kind: K, id: string): KindInterfaces[K] {
    if (!this.link) throw new Error(`peer ${String(kind)}/${id}: the HTTP peer directory is not connected`);
    return httpPeer(this.link, kind, id);
  }
}
