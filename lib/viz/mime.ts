/**
 * The Jupyter MIME bundle: one output that carries several representations; the front end shows the
 * richest one it can render (classic Notebook and nbconvert: text/html; JupyterLab with the plotly
 * extension: application/vnd.plotly.v1+json; terminals and logs: text/plain).
 */

/** MIME type of a Plotly figure JSON ({data, layout, config}). */
export const PLOTLY_MIME = "application/vnd.plotly.v1+json";

/** A MIME bundle; every bundle the kit produces has a text/plain entry. */
export interface MimeBundle {
  readonly "text/plain": string;
  readonly "text/html"?: string;
  readonly [mime: string]: unknown;
}

/** Throws unless `bundle` is an object with a string text/plain entry. */
export function checkBundle(bundle: unknown, where: string): asserts bundle is MimeBundle {
  if (typeof bundle !== "object" || bundle === null || Array.isArray(bundle)) {
    throw new Error(
      `${where}: a MIME bundle must be an object, got ${Array.isArray(bundle) ? "array" : typeof bundle}`,
    );
  }
  const text = (bundle as Record<string, unknown>)["text/plain"];
  if (typeof text !== "string") {
    throw new Error(`${where}: a MIME bundle needs a string "text/plain" entry, got ${typeof text}`);
  }
}
