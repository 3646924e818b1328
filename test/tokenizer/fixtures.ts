/** Tiny shared fixtures for the tokenizer tests (a few KB: training takes milliseconds). */

/** Training text: plain English with punctuation, digits, contractions and some unicode. */
export const TRAIN_LINES: readonly string[] = Object.freeze([
  "Call me Ishmael. Some years ago, never mind how long precisely, having little or no money in my purse,",
  "and nothing particular to interest me on shore, I thought I would sail about a little and see the watery part of the world.",
  "It is a way I have of driving off the spleen and regulating the circulation.",
  "The review was positive. The review was negative. Was the review positive or negative?",
  "positive, negative, positive; the film was great, the plot was weak, the acting was good.",
  "In 1790 the revenue was 3,000,000 florins; in 2016 it was $4.1 trillion (an increase of 99.9%).",
  "Fellow-Citizens of the Senate and House of Representatives: I'm glad you're here, and we'll see what they've done.",
  'dog, domestic dog: a member of the genus Canis; "the dog barked all night"',
  'good: having desirable or positive qualities; "a good report card"; "good news"',
  "Ahab's whale, the white whale, Moby Dick \u2014 the drama's done. Why then here does any one step forth?",
  "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber se\u00f1or \u00c5ngstr\u00f6m",
  "\u65e5\u672c\u8a9e\u306e\u6587\u7ae0 and \u03b5\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac words \ud83d\ude42 \ud83d\udc0b",
  ...Array.from(
    { length: 12 },
    (_, i) => `Line ${i}: the whale and the sea, the ship and the crew; the captain said "${i * 7}" times.`,
  ),
]);

/** Strings that must survive encode -> decode unchanged (already in normal form). */
export const ROUND_TRIP_CASES: readonly string[] = Object.freeze([
  "Hello, world!",
  "  leading spaces",
  "trailing spaces   ",
  "   both   ",
  " ",
  "a",
  "multiple   inner    spaces\tand\ttabs\nand\nnewlines\n\n",
  "Punctuation: ;:!?.,-_()[]{}<>/\\|@#$%^&*+=~`'\"",
  "Digits 0123456789 3.14159 1,000,000 -42 +7e10",
  "caf\u00e9 na\u00efve \u00c5ngstr\u00f6m \u00df \u00e6\u00f8\u00e5",
  "\u65e5\u672c\u8a9e \u4e2d\u6587 \ud55c\uad6d\uc5b4 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea \u0440\u0443\u0441\u0441\u043a\u0438\u0439",
  "emoji \ud83d\ude42\ud83d\udc0b\ud83c\udff3\ufe0f\u200d\ud83c\udf08 done",
  "em\u2014dash and en\u2013dash",
  "it's they've we'll I'm you'd don't",
  "a word never seen in training: zyxwvutsrqponm qqqqqqq",
]);
