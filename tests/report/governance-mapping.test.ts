/**
 * The mapping table (src/governance/mapping.json) is complete and well-formed: all 72 subcategories of the NIST
 * AI RMF 1.0 core (19 GOVERN, 18 MAP, 22 MEASURE, 13 MANAGE, numbered as in NIST AI 100-1) and the 38 ISO/IEC
 * 42001:2023 Annex A controls, each id once, each naming only evidence signals that exist.
 */
import { describe, expect, it } from 'vitest';
import { GOVERNANCE_MAPPING, parseFailOn } from '../../src/governance/profile.ts';
import { signalIds } from '../../src/governance/signals.ts';

const CATEGORY_SIZES: Record<string, number[]> = {
  GOVERN: [7, 3, 2, 3, 2, 2], MAP: [6, 3, 5, 2, 2], MEASURE: [3, 13, 3, 3], MANAGE: [4, 4, 2, 3],
};

describe('governance mapping.json', () => {
  const nist = GOVERNANCE_MAPPING.rows.filter((r) => r.framework === 'nist-ai-rmf');
  const iso = GOVERNANCE_MAPPING.rows.filter((r) => r.framework === 'iso-42001');

  it('has every NIST AI RMF 1.0 subcategory, in order, once', () => {
    const expected = Object.entries(CATEGORY_SIZES).flatMap(([fn, sizes]) => sizes.flatMap((n, c) => Array.from({ length: n }, (_, s) => `${fn} ${c + 1}.${s + 1}`)));
    expect(nist.map((r) => r.id)).toEqual(expected);
    expect(expected.length).toBe(72);
    for (const r of nist) expect(r.text, r.id).toMatch(/^[A-Z].{20,}\.$/);
  });

  it('has the 38 ISO/IEC 42001 Annex A controls by id and short title only, and says the text is not public', () => {
    expect(iso.length).toBe(38);
    expect(new Set(iso.map((r) => r.id)).size).toBe(38);
    for (const r of iso) {
      expect(r.id).toMatch(/^A\.(\d+)\.\d+(\.\d+)?$/);
      expect(r.title!.length).toBeLessThan(80);
      expect(r.text).toBeUndefined();
    }
    expect(GOVERNANCE_MAPPING.sources['iso-42001']).toMatch(/not public/);
  });

  it('names only evidence signals that exist, each described', () => {
    const known = new Set(signalIds());
    for (const r of GOVERNANCE_MAPPING.rows) for (const s of r.evidence) expect(known.has(s), `${r.id}: ${s}`).toBe(true);
    for (const s of signalIds().filter((x) => !x.startsWith('answer:'))) expect(GOVERNANCE_MAPPING.evidence[s], s).toBeTruthy();
  });

  it('--fail-on: a status then selectors; a bare selector keeps the status before it', () => {
    expect(parseFailOn(['missing=MEASURE 2.11', 'MANAGE 4.1', 'partial=govern', 'A.6'])).toEqual([
      { status: 'missing', selector: 'MEASURE 2.11' }, { status: 'missing', selector: 'MANAGE 4.1' },
      { status: 'partial', selector: 'govern' }, { status: 'partial', selector: 'A.6' },
    ]);
  });
});
