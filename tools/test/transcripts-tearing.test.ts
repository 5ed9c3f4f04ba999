// Every mutating exchange of every felica-transcript vector, through the tearing campaign at its CI budget
// (every cut point): old or new state after recovery; every refused exchange changes nothing.
import { describe, expect, it } from 'vitest';
import { runCampaign } from '../src/campaign/runner';
import { tearingCampaign } from '../src/campaign/tearing-campaign';
import { felicaTranscriptSource } from '../src/campaign/tearing-sources';
import { transcriptFiles } from '../src/campaign/transcripts';

const files = transcriptFiles('felica');
const S = 'felica transcripts';

describe('felica transcripts under tearing (campaign tearing)', () => {
  it('has transcript files to run', () => {
    expect(files.length).toBeGreaterThan(0);
  });
  for (const file of files) {
    it(`${file}: old or new state at every cut point; refusals change nothing`, async () => {
      const kind = tearingCampaign(() => [felicaTranscriptSource(file)]);
      const r = await runCampaign(kind, { budget: kind.ciBudget });
      expect(r.failures).toEqual([]);
      expect(r.tried[`${S}: exchanges`]).toBeGreaterThan(0);
      expect(r.tried[`${S}: exchanges left out by the budget`]).toBeUndefined();
      const cuts = r.tried[`${S}: cut points`] ?? 0;
      expect((r.tried[`${S}: recovered old`] ?? 0) + (r.tried[`${S}: recovered new`] ?? 0)).toBe(cuts);
      console.log(
        `${file}: ${r.tried[`${S}: mutating exchanges`] ?? 0} mutating exchanges, ${cuts} cut points, ${r.tried[`${S}: refusals`] ?? 0} refusals, all as specified`,
      );
    });
  }
});
