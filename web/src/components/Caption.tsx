// Caption or comment text: @mentions link to the profile, #tags to the hashtag's page.
import type { ComponentChildren } from "preact";

// A tag or a mention starts a word (so "bob@example.com" is no mention), and a mention does not end with a dot (so
// "thanks @alice." names alice).
const TOKEN = /(?<![\p{L}\p{N}_@.#])(#[\p{L}\p{N}_]+|@[a-z0-9._]{2,29}[a-z0-9_])/gu;

export function RichText({ text }: { text: string }) {
  const parts: ComponentChildren[] = [];
  let last = 0;
  for (const match of text.matchAll(TOKEN)) {
    const token = match[0];
    const start = match.index ?? 0;
    if (start > last) parts.push(text.slice(last, start));
    const name = token.slice(1);
    parts.push(
      token.startsWith("#") ? (
        <a class="tag" href={`/app/tags/${encodeURIComponent(name.toLowerCase())}`}>
          {token}
        </a>
      ) : (
        <a class="tag" href={`/app/u/${encodeURIComponent(name)}`}>
          {token}
        </a>
      ),
    );
    last = start + token.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return <>{parts}</>;
}
