/**
 * Pure HTML/script escaping helpers used by every HTML renderer in lib/viz.
 */

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for use in HTML element content or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]);
}

/**
 * JSON text that is safe to embed inside an inline <script> element: `<`, `>`, `&`, U+2028 and
 * U+2029 are written as \u escapes, so a string value containing "</script>" cannot end the element.
 * Throws (naming `where`) when the value is not JSON-serialisable.
 */
export function jsonForScript(value: unknown, where = "jsonForScript"): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (err) {
    throw new Error(`${where}: value is not JSON-serialisable: ${(err as Error).message}`);
  }
  if (json === undefined) throw new Error(`${where}: value is not JSON-serialisable (got ${typeof value})`);
  return json
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/**
 * Makes JavaScript source safe to inline between <script> and </script>: every "</script" (any case)
 * becomes "<\/script", which is the same string or regex in JavaScript.
 */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, "<\\/$1");
}
