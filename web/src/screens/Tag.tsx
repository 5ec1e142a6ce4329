// A hashtag's page (/app/tags/{tag}): its posts, newest first or top, as a grid.
import { useRoute } from "preact-iso";
import { useState } from "preact/hooks";
import { Empty, ErrorNote, Loading, MoreSentinel } from "../components/Common";
import { Grid } from "../components/Grid";
import { usePaged } from "../lists";
import { postPages, unique } from "../posts_page";
import { useTitle } from "../title";

export function Tag() {
  const { params } = useRoute();
  const tag = params.tag.toLowerCase();
  const [order, setOrder] = useState<"recent" | "top">("recent");
  useTitle(`#${tag}`);
  const list = usePaged(
    `tag:${tag}:${order}`,
    postPages(`/hashtags/${encodeURIComponent(tag)}/posts`, 30, { order }),
    true,
  );
  const ids = unique(list.items);
  return (
    <div class="wide-column">
      <h1 class="page-title">#{tag}</h1>
      <div class="feed-order" role="group" aria-label="Order of posts">
        <button type="button" aria-pressed={order === "recent"} onClick={() => setOrder("recent")}>
          Recent
        </button>
        <button type="button" aria-pressed={order === "top"} onClick={() => setOrder("top")}>
          Top
        </button>
      </div>
      <Grid ids={ids} label={`Posts tagged #${tag}`} />
      {list.done && !ids.length ? <Empty title={`No posts with #${tag} yet`} /> : null}
      {list.loading ? <Loading label="Loading posts" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </div>
  );
}
