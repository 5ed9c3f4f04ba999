// Every exchange of every apdu-transcript vector that writes, through the tearing campaign at its CI
// budget (every cut point): old or new state after recovery (the sessions are replayed, since they live
// in RAM). Every refused exchange leaves the image and its write counters unchanged, except a wrong PIN
// (63Cx), whose decremented counter is the point of the command. A successful PIN command commits twice
// by design (decrement, then restore), so it is excluded and counted: card-os/test/apdu-pin.test.ts
// judges those.
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../src/campaign/runner';
import { tearingCampaign } from '../src/campaign/tearing-campaign';
import { apduTranscriptSource } from '../src/campaign/tearing-sources';
import { transcriptFiles } from '../src/campaign/transcripts';

const files = transcriptFiles('apdu');
const S = 'apdu transcripts';

describe('apdu transcripts under tearing (campaign tearing)', () => {
  it('has transcript files to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(`${file}: old or new state at every cut point; refusals change nothing`, async () => {
      const kind = tearingCampaign(() => [apduTranscriptSource(file)]);
      const r = await runCampaign(kind, { budget: kind.ciBudget });
      expect(r.failures).toEqual([]);
      expect(r.tried[`${S}: exchanges`]).toBeGreaterThan(0);
      expect(r.tried[`${S}: exchanges left out by the budget`]).toBeUndefined();
      const cuts = r.tried[`${S}: cut points`] ?? 0;
      expect((r.tried[`${S}: recovered old`] ?? 0) + (r.tried[`${S}: recovered new`] ?? 0)).toBe(cuts);
      console.log(
        `${file}: ${r.tried[`${S}: mutating exchanges`] ?? 0} mutating exchanges, ${cuts} cut points, ${r.tried[`${S}: refusals`] ?? 0} refusals, ${r.tried[`${S}: excluded by design`] ?? 0} PIN successes excluded`,
      );
      // The public-key transcripts (AUTHENTICATE PK) replay Ed25519 / X25519 at every cut point.
    }, 180_000);
  }
});
