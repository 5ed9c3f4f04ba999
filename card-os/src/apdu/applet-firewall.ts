// What an applet may touch of EEPROM: the services of its own area, plus services shared with its
// area by a grant record (07h, read only). Anything else is refused with 6982.
import { SW } from '@mica/apdu-specs/apdu/status-words';
import { shareGrants } from '../fs/applet-registry';
import { BlockTx } from '../fs/block-tx';
import type { FileSystem } from '../fs/fs';
import type { ServiceNode } from '../fs/nodes';
import { serviceBlockAddress } from '../fs/service-data';
import type { CommitResult } from '../hal/eeprom';
import { inScope, resolveScope, type AppletScope } from './applet-scope';
import { IsoError } from './iso-error';

export interface BlockWriteRequest {
  readonly block: number;
  readonly data: Uint8Array;
}

export class AppletFirewall {
  constructor(
    private readonly fs: FileSystem,
    readonly scope: AppletScope,
  ) {}

  private service(code: number, forWrite: boolean): ServiceNode {
    const scope = resolveScope(this.fs, this.scope);
    const own = inScope(scope, code);
    if (!own) {
      const granted =
        !forWrite &&
        shareGrants(this.fs).some(
          (g) =>
            g.read &&
            g.system === this.scope.system &&
            g.service === code &&
            g.granteeArea === this.scope.area,
        );
      if (!granted)
        throw new IsoError(SW.SECURITY_STATUS, `service ${code.toString(16)} is behind the firewall`);
    }
    const node = scope.view.byCode.get(code);
    if (!node || node.kind !== 'service') throw new IsoError(SW.REFERENCED_DATA_NOT_FOUND);
    return node;
  }

  /** Block `n` of a service of the applet's area, or of a service shared with it. */
  readBlock(serviceCode: number, n: number): Uint8Array {
    const s = this.service(serviceCode, false);
    if (!Number.isInteger(n) || n < 0 || n >= s.blockCount) throw new IsoError(SW.WRONG_P1P2);
    return this.fs.eeprom.read(serviceBlockAddress(this.fs.eeprom, s, n));
  }

  /** Writes blocks of a random service of the applet's own area, all or nothing. */
  writeBlocks(serviceCode: number, writes: readonly BlockWriteRequest[]): CommitResult {
    const s = this.service(serviceCode, true);
    if (s.attribute.family !== 'random' || s.attribute.access !== 'read-write')
      throw new IsoError(SW.COMMAND_NOT_ALLOWED);
    const tx = new BlockTx(this.fs.eeprom);
    for (const w of writes) {
      if (!Number.isInteger(w.block) || w.block < 0 || w.block >= s.blockCount)
        throw new IsoError(SW.WRONG_P1P2);
      if (w.data.length !== 16) throw new IsoError(SW.WRONG_LENGTH);
      tx.write(s.firstBlock + w.block, w.data);
    }
    return tx.commit();
  }
}
