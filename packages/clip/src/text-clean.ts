/**
 * OpenAI's text cleaning before CLIP's tokenizer (openai/CLIP simple_tokenizer.py `basic_clean` and
 * `whitespace_clean`): NFC normalisation, HTML entities unescaped twice, whitespace runs collapsed
 * to one space, stripped, lowercased. OpenAI also runs `ftfy.fix_text`, which repairs mojibake
 * ("cafÃ©" -> "café"); there is no port of ftfy here, so input text is assumed to be valid Unicode
 * already (ftfy's own NFC step is kept).
 */

/**
 * Named character references understood by `htmlUnescape`: the HTML 4 set (Latin-1, symbols,
 * Greek, specials) plus `apos`, with HTML5's code points. Python's `html.unescape` knows all
 * 2231 HTML5 names; a name outside this table is left as written.
 */
const LATIN1_NAMES = ('nbsp iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg '
  + 'plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 iquest Agrave Aacute '
  + 'Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml Igrave Iacute Icirc Iuml ETH Ntilde Ograve '
  + 'Oacute Ocirc Otilde Ouml times Oslash Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc '
  + 'atilde auml aring aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve oacute '
  + 'ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml').split(' ');
const GREEK_UPPER = 'Alpha Beta Gamma Delta Epsilon Zeta Eta Theta Iota Kappa Lambda Mu Nu Xi Omicron Pi Rho _ Sigma Tau Upsilon Phi Chi Psi Omega'.split(' ');
const GREEK_LOWER = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigmaf sigma tau upsilon phi chi psi omega'.split(' ');
const OTHER_NAMES = 'quot 34 amp 38 apos 39 lt 60 gt 62 OElig 338 oelig 339 Scaron 352 scaron 353 Yuml 376 fnof 402 '
  + 'circ 710 tilde 732 thetasym 977 upsih 978 piv 982 ensp 8194 emsp 8195 thinsp 8201 zwnj 8204 zwj 8205 lrm 8206 '
  + 'rlm 8207 ndash 8211 mdash 8212 lsquo 8216 rsquo 8217 sbquo 8218 ldquo 8220 rdquo 8221 bdquo 8222 dagger 8224 '
  + 'Dagger 8225 bull 8226 hellip 8230 permil 8240 prime 8242 Prime 8243 lsaquo 8249 rsaquo 8250 oline 8254 '
  + 'frasl 8260 euro 8364 image 8465 weierp 8472 real 8476 trade 8482 alefsym 8501 larr 8592 uarr 8593 rarr 8594 '
  + 'darr 8595 harr 8596 crarr 8629 lArr 8656 uArr 8657 rArr 8658 dArr 8659 hArr 8660 forall 8704 part 8706 '
  + 'exist 8707 empty 8709 nabla 8711 isin 8712 notin 8713 ni 8715 prod 8719 sum 8721 minus 8722 lowast 8727 '
  + 'radic 8730 prop 8733 infin 8734 ang 8736 and 8743 or 8744 cap 8745 cup 8746 int 8747 there4 8756 sim 8764 '
  + 'cong 8773 asymp 8776 ne 8800 equiv 8801 le 8804 ge 8805 sub 8834 sup 8835 nsub 8836 sube 8838 supe 8839 '
  + 'oplus 8853 otimes 8855 perp 8869 sdot 8901 lceil 8968 rceil 8969 lfloor 8970 rfloor 8971 lang 10216 '
  + 'rang 10217 loz 9674 spades 9824 clubs 9827 hearts 9829 diams 9830';

/** name (without ';') -> text. */
const ENTITIES = new Map<string, string>();
/** Names HTML5 also accepts without the ';' (legacy entities). */
const LEGACY = new Set<string>(['amp', 'lt', 'gt', 'quot', 'AMP', 'LT', 'GT', 'QUOT', 'COPY', 'REG']);
LATIN1_NAMES.forEach((name, i) => { ENTITIES.set(name, String.fromCharCode(160 + i)); LEGACY.add(name); });
GREEK_UPPER.forEach((name, i) => { if (name !== '_') ENTITIES.set(name, String.fromCharCode(913 + i)); });
GREEK_LOWER.forEach((name, i) => ENTITIES.set(name, String.fromCharCode(945 + i)));
{
  const parts = OTHER_NAMES.split(' ');
  for (let i = 0; i < parts.length; i += 2) ENTITIES.set(parts[i]!, String.fromCodePoint(Number(parts[i + 1])));
  for (const [upper, lower] of [['AMP', 'amp'], ['LT', 'lt'], ['GT', 'gt'], ['QUOT', 'quot'], ['COPY', 'copy'], ['REG', 'reg']] as const) {
    ENTITIES.set(upper, ENTITIES.get(lower)!);
  }
}

/** Numeric references to C1 controls mean their Windows-1252 characters (HTML5, as Python does). */
const WIN1252: Record<number, number> = {
  0x80: 0x20ac, 0x82: 0x201a, 0x83: 0x0192, 0x84: 0x201e, 0x85: 0x2026, 0x86: 0x2020, 0x87: 0x2021,
  0x88: 0x02c6, 0x89: 0x2030, 0x8a: 0x0160, 0x8b: 0x2039, 0x8c: 0x0152, 0x8e: 0x017d, 0x91: 0x2018,
  0x92: 0x2019, 0x93: 0x201c, 0x94: 0x201d, 0x95: 0x2022, 0x96: 0x2013, 0x97: 0x2014, 0x98: 0x02dc,
  0x99: 0x2122, 0x9a: 0x0161, 0x9b: 0x203a, 0x9c: 0x0153, 0x9e: 0x017e, 0x9f: 0x0178,
};

function numericReference(num: number): string {
  if (num === 0) return '\ufffd';
  if (num === 0x0d) return '\r';
  if (num >= 0x80 && num <= 0x9f) return String.fromCodePoint(WIN1252[num] ?? num);
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return '\ufffd';
  const invalid = (num >= 0x1 && num <= 0x8) || num === 0xb || (num >= 0xe && num <= 0x1f) || num === 0x7f
    || (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) === 0xfffe;
  return invalid ? '' : String.fromCodePoint(num);
}

/**
 * Python's `html.unescape`: numeric references (decimal and hex, `;` optional) and named
 * references; a legacy name may lack its `;` and may be the prefix of a longer run ("&ampx").
 */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/g, (whole, ref: string) => {
    if (ref[0] === '#') {
      const hex = ref[1] === 'x' || ref[1] === 'X';
      const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
      const num = parseInt(digits, hex ? 16 : 10);
      return numericReference(Number.isFinite(num) ? num : 0x110000);
    }
    if (ref.endsWith(';')) {
      const hit = ENTITIES.get(ref.slice(0, -1));
      if (hit !== undefined) return hit;
    }
    // Longest legacy name at the start of the run, the rest kept as written.
    for (let n = Math.min(ref.length, 32); n >= 2; n--) {
      const name = ref.slice(0, n);
      if (LEGACY.has(name)) return ENTITIES.get(name)! + ref.slice(n);
    }
    return whole;
  });
}

/** Unicode White_Space, the class Python's `regex` module uses for `\s` in CLIP's patterns. */
const WS_RUN = /[\p{White_Space}]+/gu;

/**
 * OpenAI's cleaning: (ftfy's NFC), `html.unescape` twice, strip, whitespace runs to one space,
 * strip, lowercase.
 */
export function cleanText(text: string): string {
  let t = text.normalize('NFC');
  t = htmlUnescape(htmlUnescape(t));
  return t.replace(WS_RUN, ' ').trim().toLowerCase();
}
