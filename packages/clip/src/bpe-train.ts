/**
 * Learns a small CLIP-style byte-level BPE vocabulary from a corpus (Sennrich et al. 2016):
 * split each cleaned text into pieces as CLIP's tokenizer does, then repeatedly merge the most
 * frequent adjacent pair (ties broken by the pair's first appearance, so the result is
 * deterministic) until no pair occurs at least `minCount` times or `maxMerges` is reached.
 * Tiny CLIPs trained on a narrow caption corpus use it to keep their embedding table small;
 * the result loads in `BpeTokenizer` and saves with `writeHfTokenizerFiles`.
 */
import { bpeVocabFromMerges, bytesToUnicode, PIECE_PATTERN, type BpeVocab } from './bpe.js';
import { cleanText } from './text-clean.js';

export interface BpeTrainOptions {
  maxMerges?: number;
  minCount?: number;
}

export function trainBpe(corpus: Iterable<string>, { maxMerges = 2000, minCount = 2 }: BpeTrainOptions = {}): BpeVocab {
  const byteChars = bytesToUnicode().chars;
  const utf8 = new TextEncoder();
  // word (as its current symbols) -> count
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const piece of cleanText(text).match(PIECE_PATTERN) ?? []) {
      if (piece === '<|startoftext|>' || piece === '<|endoftext|>') continue;
      let chars = '';
      for (const b of utf8.encode(piece)) chars += byteChars[b];
      counts.set(chars, (counts.get(chars) ?? 0) + 1);
    }
  }
  let words = [...counts].map(([w, n]) => {
    const symbols = Array.from(w);
    symbols[symbols.length - 1] += '</w>';
    return { symbols, n };
  });
  const merges: string[] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, { n: number; first: number }>();
    let order = 0;
    for (const { symbols, n } of words) {
      for (let i = 0; i < symbols.length - 1; i++) {
        const key = `${symbols[i]} ${symbols[i + 1]}`;
        const p = pairs.get(key);
        if (p) p.n += n;
        else pairs.set(key, { n, first: order++ });
      }
    }
    let best: string | undefined;
    let bestN = 0;
    let bestFirst = Infinity;
    for (const [k, { n, first }] of pairs) {
      if (n > bestN || (n === bestN && first < bestFirst)) {
        best = k;
        bestN = n;
        bestFirst = first;
      }
    }
    if (!best || bestN < minCount) break;
    merges.push(best);
    const [a, b] = best.split(' ') as [string, string];
    words = words.map(({ symbols, n }) => {
      const next: string[] = [];
      for (let i = 0; i < symbols.length;) {
        if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
          next.push(a + b);
          i += 2;
        } else {
          next.push(symbols[i++]!);
        }
      }
      return { symbols: next, n };
    });
  }
  return bpeVocabFromMerges(merges);
}
