// Explore: posts from accounts you don't follow, as a grid; more load as you scroll.
import { Empty, ErrorNote, Loading, MoreSentinel } from "../components/Common";
import { Grid } from "../components/Grid";
import { usePaged } from "../lists";
import { postPages, unique } from "../posts_page";
import { useTitle } from "../title";

export function Explore() {
  useTitle("Explore");
  const list = usePaged("explore", postPages("/explore", 30), true);
  const ids = unique(list.items);
  return (
    <div class="wide-column">
      <h1 class="sr-only">Explore</h1>
      <Grid ids={ids} label="Posts to explore" />
      {list.done && !ids.length ? (
        <Empty title="Nothing to explore yet">
          <p>As people post and like photos, suggestions for you will appear here.</p>
        </Empty>
      ) : null}
      {list.loading ? <Loading label="Loading posts" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </div>
  );
}
