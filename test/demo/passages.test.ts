import { describe, expect, it } from 'vitest';
import { highlight, splitPassages } from '../../demo/search/passages';

describe('splitPassages', () => {
  it('splits on blank lines, keeps source, number and offset, strips Markdown headings', () => {
    const text = '# Title\n\nFirst para\nstill first.\n\n\nSecond para.';
    const p = splitPassages('a.md', text);
    expect(p.map((x) => x.text)).toEqual(['Title', 'First para still first.', 'Second para.']);
    expect(p.map((x) => x.index)).toEqual([0, 1, 2]);
    expect(p.map((x) => x.id)).toEqual(['a.md#0', 'a.md#1', 'a.md#2']);
    expect(text.slice(p[2].offset, p[2].offset + 6)).toBe('Second');
  });
  it('cuts long paragraphs at a sentence end', () => {
    const long = Array.from({ length: 30 }, (_, i) => `Sentence number ${i} is here.`).join(' ');
    const p = splitPassages('x', long, 200);
    expect(p.length).toBeGreaterThan(3);
    for (const x of p) expect(x.text.length).toBeLessThanOrEqual(200);
    expect(p.every((x) => x.text.endsWith('.'))).toBe(true);
    expect(p.map((x) => x.text).join(' ')).toBe(long);
  });
  it('empty text gives no passages', () => expect(splitPassages('e', ' \n\n ')).toEqual([]));
});

describe('highlight', () => {
  it('marks query words case-insensitively and escapes HTML', () => {
    expect(highlight('Rivers <b>flow</b> to the river', 'river')).toBe('<mark>River</mark>s &lt;b&gt;flow&lt;/b&gt; to the <mark>river</mark>');
    expect(highlight('a b', 'x')).toBe('a b');
  });
});
