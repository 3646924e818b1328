import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  cleanBody,
  cleanEmail,
  cleanSubject,
  composeEmailText,
  truncateText,
} from "../../../lib/tasks/data/email-text";
import { decodeEntities, htmlToText } from "../../../lib/tasks/data/html";
import {
  decodeEncodedWords,
  decodeQuotedPrintable,
  extractMessageText,
  parseContentType,
  parsePart,
} from "../../../lib/tasks/data/mime";

const FIXTURES = path.resolve(__dirname, "../../../../test/fixtures/tasks");
const fixture = (name: string): string => fs.readFileSync(path.join(FIXTURES, name), "utf8");

describe("tasks/data/email-text (MIME decoding and cleaning)", () => {
  it("headers: unfolds, skips the mbox line, keeps the first occurrence", () => {
    const p = parsePart("From x@y  Thu Aug 22 2002\nSubject: a\n  b\nX-A: 1\nX-A: 2\n\nbody\n");
    assert.equal(p.headers.get("subject"), "a b");
    assert.equal(p.headers.get("x-a"), "1");
    assert.equal(p.body, "body\n");
  });

  it("content-type parameters, quoted or not, and a missing semicolon", () => {
    assert.deepEqual(parseContentType('multipart/alternative; boundary="--=_a;b"'), {
      type: "multipart/alternative",
      params: { boundary: "--=_a;b" },
    });
    assert.equal(parseContentType("text/plain charset=us-ascii").params["charset"], "us-ascii");
    assert.equal(parseContentType(undefined).type, "text/plain");
  });

  it("quoted-printable: escapes, soft breaks, charset", () => {
    const bytes = decodeQuotedPrintable("caf=E9 =3D ok=\nay");
    assert.equal(new TextDecoder("iso-8859-1").decode(bytes), "café = okay");
    assert.equal(decodeEncodedWords("=?UTF-8?B?R3LDvMOfZQ==?= =?ISO-8859-1?Q?caf=E9_noir?="), "Grüßecafé noir");
  });

  it("multipart/alternative + QP: prefers text/plain, decodes latin-1, strips list tag, URL -> host", () => {
    const c = cleanEmail(fixture("mail-alternative-qp.eml"));
    assert.equal(c.subject, "Cheap café tickets");
    assert.equal(c.fromHtml, false);
    assert.equal(c.body, "The café on Main Street sells tickets for £5 each, see www.example.com for details.");
    assert.ok(!c.body.includes("HTML VERSION"));
  });

  it("multipart/mixed + base64 UTF-8: decodes the text part, drops image and text attachments", () => {
    const raw = fixture("mail-mixed-base64.eml");
    const m = extractMessageText(raw);
    assert.equal(m.droppedParts, 2);
    const c = cleanEmail(raw);
    assert.equal(c.subject, "Grüße from Cologne");
    assert.equal(c.body, "Grüße aus Köln! The meeting moved to Thursday at 10:00.");
  });

  it("HTML only: drops head/title/style/script/comments, decodes entities, keeps cell spacing", () => {
    const c = cleanEmail(fixture("mail-html-only.eml"));
    assert.equal(c.fromHtml, true);
    assert.equal(c.body, "Claim your FREE prize & save 50% today! Call now Click here ===");
    for (const gone of ["TITLE", "SCRIPT", "COMMENT", "color", "DOCTYPE"]) assert.ok(!c.body.includes(gone), gone);
  });

  it("reply: drops attribution, quoted and supercite lines, signature and list footer", () => {
    const c = cleanEmail(fixture("mail-reply.eml"));
    assert.equal(c.subject, "Re: build broken on sparc");
    assert.equal(c.body, "Fixed in CVS, it was a missing include.");
  });

  it("a mail that is all quotation ends up with an empty body", () => {
    assert.equal(cleanEmail(fixture("mail-quote-only.eml")).body, "");
  });

  it("PGP armour and Outlook original-message blocks are removed", () => {
    const body = [
      "-----BEGIN PGP SIGNED MESSAGE-----",
      "Hash: SHA1",
      "",
      "Real text here.",
      "-----BEGIN PGP SIGNATURE-----",
      "iD8DBQE9",
      "-----END PGP SIGNATURE-----",
      "-----Original Message-----",
      "From: someone",
      "old text",
    ].join("\n");
    assert.equal(cleanBody(body), "Real text here.");
  });

  it("html helpers: numeric and named entities, unknown names kept", () => {
    assert.equal(decodeEntities("&lt;b&gt; &#233;&#xE9; &madeup; &copy"), "<b> éé &madeup; ©");
    assert.equal(htmlToText("a<br>b<span>c</span>").replace(/\n/g, "|"), "a|bc");
  });

  it("subject tags are stripped after reply prefixes; other brackets stay", () => {
    assert.equal(cleanSubject("RE: [ILUG] [OT] question"), "RE: question");
    assert.equal(cleanSubject("Price list [updated]"), "Price list [updated]");
  });

  it("composes 'Subject: ...\\n<body>' and truncates at a word boundary", () => {
    assert.equal(composeEmailText("Hi", "one two three", 100), "Subject: Hi\none two three");
    assert.equal(composeEmailText("", "body only", 100), "body only");
    const t = truncateText("aaaa bbbb cccc dddd", 12);
    assert.equal(t, "aaaa bbbb");
    assert.ok(truncateText("x".repeat(50), 10).length === 10);
    assert.throws(() => composeEmailText("a", "b", 0), /maxChars.*0/);
  });
});
