import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../gpu/errors';
import { packBatch } from '../models/packing';
import { lastNonPadRows } from './classifier_head';

describe('lastNonPadRows (HF GenericForSequenceClassification row choice)', () => {
  const PAD = 9;
  it('takes the rightmost id that is not the pad, per packed sequence', () => {
    const batch = packBatch([{ ids: [1, 2, 3] }, { ids: [1, 4, PAD, PAD] }, { ids: [5] }, { ids: [1, PAD, 6, PAD] }]);
    // Sequence starts 0, 3, 7, 8.
    expect(Array.from(lastNonPadRows(batch, PAD))).toEqual([2, 4, 7, 10]);
  });

  it('an all-pad sequence scores its first token (argmax over zeros is 0)', () => {
    const batch = packBatch([{ ids: [1, 2] }, { ids: [PAD, PAD, PAD] }]);
    expect(Array.from(lastNonPadRows(batch, PAD))).toEqual([1, 2]);
  });

  it('without a pad token, each sequence scores its last token', () => {
    const batch = packBatch([{ ids: [PAD, PAD] }, { ids: [3] }]);
    expect(Array.from(lastNonPadRows(batch, null))).toEqual([1, 2]);
  });

  it('refuses an empty sequence with a request error', () => {
    expect(() => lastNonPadRows(packBatch([{ ids: [1] }, { ids: [] }]), PAD)).toThrow(BadRequestError);
  });
});
