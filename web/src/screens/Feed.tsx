// Home: the stories tray, then the feed (ranked or newest first), loading more as you scroll.
import { useState } from "preact/hooks";
import { Empty, ErrorNote, Loading, MoreSentinel } from "../components/Common";
import { PostCard } from "../components/PostCard";
import { StoryTray } from "../components/Stories";
import { usePaged } from "../lists";
import { postPages, unique } from "../posts_page";
import { useTitle } from "../title";

type Order = "ranked" | "chronological";
const ORDER_KEY = "aperture.feed-order";
export const FEED_PAGE = 10;

export function Feed() {
  useTitle("Home");
  const [order, setOrder] = useState<Order>(
    localStorage.getItem(ORDER_KEY) === "chronological" ? "chronological" : "ranked",
  );
  const list = usePaged(`feed:${order}`, postPages("/feed", FEED_PAGE, { order }), true);
  const choose = (next: Order) => {
    localStorage.setItem(ORDER_KEY, next);
    setOrder(next);
  };
  const ids = unique(list.items);
  return (
    <div class="column">
      <h1 class="sr-only">Home</h1>
      <StoryTray />
      <div class="feed-order" role="group" aria-label="Feed order">
        <button type="button" aria-pressed={order === "ranked"} onClick={() => choose("ranked")}>
          Ranked
        </button>
        <button type="button" aria-pressed={order === "chronological"} onClick={() => choose("chronological")}>
          Chronological
        </button>
      </div>
      {ids.map((id, index) => (
        <PostCard key={id} postId={id} eager={index < 2} />
      ))}
      {list.done && !ids.length ? (
        <Empty title="Your feed is empty">
          <p>
            Follow people to see their posts here. <a href="/app/explore">Find people to follow on Explore</a>, or
            share a photo of your own.
          </p>
        </Empty>
      ) : null}
      {list.loading ? <Loading label="Loading posts" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
      {list.done && ids.length ? <p class="end muted">You're all caught up.</p> : null}
    </div>
  );
}
