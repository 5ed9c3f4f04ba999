// The human summary of a campaign report: what was tried, how many, what failed.
import { alignRows } from '../dump/dump-text';
import { failureCount, type CampaignReport } from './runner';

const LISTED = 20;

function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

export function campaignSummary(r: CampaignReport, unit: string): string {
  const failed = failureCount(r);
  // Rows grouped by their prefix ("felica transcripts: …"), in the order the groups first appear.
  const prefix = (c: string): string => c.split(':')[0]!;
  const order = [...new Set(Object.keys(r.tried).map(prefix))];
  const rows = Object.entries(r.tried)
    .sort((a, b) => order.indexOf(prefix(a[0])) - order.indexOf(prefix(b[0])))
    .map(([category, n]) => [category, grouped(n), grouped(r.failed[category] ?? 0)]);
  // A failure in a category nothing counted still shows.
  for (const [category, n] of Object.entries(r.failed))
    if (!(category in r.tried)) rows.push([category, '0', grouped(n)]);
  const lines = [
    `campaign ${r.campaign}: budget ${grouped(r.budget)} ${unit}, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(1)} s`,
    ...alignRows([['tried', 'count', 'failed'], ...rows]),
  ];
  if (r.outcomes) {
    lines.push('outcomes:');
    for (const [category, o] of Object.entries(r.outcomes))
      lines.push(
        `  ${category}: ${Object.entries(o)
          .map(([outcome, n]) => `${grouped(n)} ${outcome}`)
          .join(', ')}`,
      );
  }
  if (failed > 0) {
    lines.push('failures:');
    for (const f of r.failures.slice(0, LISTED)) lines.push(`  ${f.category}: ${f.input}: ${f.problem}`);
    if (failed > LISTED)
      lines.push(`  … and ${grouped(failed - LISTED)} more (--json lists ${r.failures.length})`);
  }
  lines.push(`${r.campaign}: ${failed === 0 ? 'no failures' : `${grouped(failed)} failed`}`);
  return `${lines.join('\n')}\n`;
}
