// Search: people and hashtags as you type (debounced; an answer to an older query is dropped). People link to their
// profiles, hashtags to their pages. The query is kept in the URL (?q=), so Back returns to the same results.
import { useLocation } from "preact-iso";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, api } from "../api";
import { Avatar, ErrorNote, Loading } from "../components/Common";
import { Icon } from "../components/Icon";
import { useTitle } from "../title";
import type { HashtagResult, Page, UserResult } from "../types";

const DEBOUNCE_MS = 250;

interface Results {
  query: string;
  people: UserResult[];
  tags: HashtagResult[];
}

function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function Search() {
  useTitle("Search");
  const { query, path, route } = useLocation();
  const [text, setText] = useState(query.q ?? "");
  const [results, setResults] = useState<Results | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const latest = useRef(0);

  useEffect(() => {
    const q = text.trim();
    route(q ? `${path}?q=${encodeURIComponent(q)}` : path, true);
    const ticket = ++latest.current;
    if (!q) {
      setResults(null);
      setLoading(false);
      return;
    }
    setLoading(true);
    const timer = setTimeout(() => {
      const asTag = q.startsWith("#");
      const encoded = encodeURIComponent(q.slice(0, 100));
      Promise.all([
        asTag ? Promise.resolve({ items: [] as UserResult[] }) : api<Page<UserResult>>("GET", `/search/users?q=${encoded}&limit=10`),
        api<Page<HashtagResult>>("GET", `/search/hashtags?q=${encoded}&limit=10`),
      ]).then(
        ([people, tags]) => {
          if (ticket !== latest.current) return; // a newer query was typed meanwhile
          setResults({ query: q, people: people.items, tags: tags.items });
          setError(null);
          setLoading(false);
        },
        (failure: unknown) => {
          if (ticket !== latest.current) return;
          setError(failure instanceof ApiError ? failure : new ApiError(0, "client", String(failure)));
          setLoading(false);
        },
      );
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [text]);

  const nothing = results && !results.people.length && !results.tags.length;
  return (
    <div class="column search-screen">
      <h1 class="sr-only">Search</h1>
      <div class="search-box" role="search">
        <Icon name="search" size={20} />
        <input
          type="search"
          aria-label="Search people and hashtags"
          placeholder="Search people and #hashtags"
          maxLength={100}
          autoComplete="off"
          spellcheck={false}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
          autoFocus
        />
      </div>
      {loading ? <Loading label="Searching" /> : null}
      <ErrorNote error={error} />
      <div aria-live="polite" class="search-results">
        {results?.people.length ? (
          <section aria-labelledby="people-heading">
            <h2 id="people-heading" class="search-heading">
              People
            </h2>
            <ul class="people" aria-label="People found">
              {results.people.map((user) => (
                <li key={user.user_id} class="person">
                  <a href={`/app/u/${user.username}`}>
                    <Avatar username={user.username} size={40} />
                    <span class="person-names">
                      <span class="strong">{user.username}</span>
                      <span class="muted">
                        {user.display_name ? `${user.display_name} · ` : ""}
                        {count(user.follower_count, "follower", "followers")}
                        {user.following ? " · Following" : ""}
                      </span>
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        {results?.tags.length ? (
          <section aria-labelledby="tags-heading">
            <h2 id="tags-heading" class="search-heading">
              Hashtags
            </h2>
            <ul class="people" aria-label="Hashtags found">
              {results.tags.map((tag) => (
                <li key={tag.tag} class="person">
                  <a href={`/app/tags/${encodeURIComponent(tag.tag)}`}>
                    <span class="tag-badge" aria-hidden="true">
                      #
                    </span>
                    <span class="person-names">
                      <span class="strong">#{tag.tag}</span>
                      <span class="muted">{count(tag.post_count, "post", "posts")}</span>
                    </span>
                  </a>
                </li>
              ))}
            </ul>
          </section>
        ) : null}
        {nothing && !loading ? <p class="muted search-none">No people or hashtags start with “{results.query}”.</p> : null}
      </div>
    </div>
  );
}
