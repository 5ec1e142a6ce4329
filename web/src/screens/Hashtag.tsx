// A hashtag's page (/app/tags/{tag}): its posts as a grid, Recent (newest first, more as you scroll) or Top (the
// week's most engaged, ?order=top).
import { useLocation, useRoute } from "preact-iso";
import { Empty, ErrorNote, Loading, MoreSentinel } from "../components/Common";
import { Grid } from "../components/Grid";
import { usePaged } from "../lists";
import { postPages, unique } from "../posts_page";
import { useTitle } from "../title";

export function Hashtag() {
  const { params } = useRoute();
  const { query } = useLocation();
  const tag = (params.tag ?? "").toLowerCase();
  const order = query.order === "top" ? "top" : "recent";
  useTitle(`#${tag}`);
  const path = `/hashtags/${encodeURIComponent(tag)}/posts`;
  const list = usePaged(`tag:${tag}:${order}`, postPages(path, 30, { order }));
  const ids = unique(list.items);
  const base = `/app/tags/${encodeURIComponent(tag)}`;
  return (
    <div class="wide-column">
      <h1 class="hashtag-title">#{tag}</h1>
      <nav class="profile-tabs" aria-label="Hashtag order">
        <a href={base} aria-current={order === "recent" ? "page" : undefined}>
          Recent
        </a>
        <a href={`${base}?order=top`} aria-current={order === "top" ? "page" : undefined}>
          Top
        </a>
      </nav>
      <Grid ids={ids} label={order === "top" ? `Top posts with #${tag}` : `Recent posts with #${tag}`} />
      {list.done && !ids.length ? (
        <Empty title={order === "top" ? "No top posts this week" : "No posts yet"}>
          <p>Posts with #{tag} in their caption show here.</p>
        </Empty>
      ) : null}
      {list.loading ? <Loading label="Loading posts" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </div>
  );
}
