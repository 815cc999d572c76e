import { createHash } from "node:crypto"

/** Sent with every response. */
export const baseHeaders: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-site",
  // JSON answers need nothing: a browser that renders one as a page may run nothing from it.
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'"
}

export const HSTS = "max-age=31536000; includeSubDomains"

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`

/**
 * A strict CSP for a documentation page: only this server's scripts plus the page's own inline
 * scripts, allowed by hash rather than by 'unsafe-inline'. Styles stay 'unsafe-inline' because
 * Swagger UI and ReDoc inject style elements at run time.
 */
export const forDocumentationPage = (html: string): string => {
  const scripts = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>([\s\S]*?)<\/script>/g)]
    .filter((match) => !/type=["']application\/json["']/.test(match[1] ?? ""))
    .map((match) => match[2] ?? "")
    .filter((body) => body.trim().length > 0)
  return [
    "default-src 'none'",
    `script-src 'self' ${scripts.map(sha256).join(" ")}`.trim(),
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
}
