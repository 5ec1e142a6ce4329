// Caption or comment text with its #tags and @mentions as links.
import type { ComponentChildren } from "preact";

const TOKEN = /(#[\p{L}\p{N}_]+|@[a-z0-9._]{3,30})/gu;

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
