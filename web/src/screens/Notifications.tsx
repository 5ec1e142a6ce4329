// Notifications: likes (grouped: "alice and 12 others"), comments, follows and mentions; opening the screen marks
// them read.
import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, paged } from "../api";
import { Avatar, Empty, ErrorNote, Loading, MoreSentinel, TimeAgo } from "../components/Common";
import { count } from "../format";
import { usePaged } from "../lists";
import { unread } from "../state";
import { useTitle } from "../title";
import type { Notification, NotificationPage } from "../types";

function what(n: Notification): ComponentChildren {
  const others = n.others_count > 0 ? ` and ${count(n.others_count, "other", "others")}` : "";
  switch (n.type) {
    case "like":
      return `${others} liked your post.`;
    case "comment":
      return `${others} commented on your post.`;
    case "mention":
      return " mentioned you.";
    case "follow":
      return `${others} started following you.`;
    case "follow_request":
      return " asked to follow you.";
    case "follow_accepted":
      return " accepted your follow request.";
    default:
      return " has news for you.";
  }
}

function Item({ n }: { n: Notification }) {
  const target = n.post_id ? `/app/p/${n.post_id}` : n.type === "follow_request" ? "/app/requests" : null;
  return (
    <li class={`notification${n.read ? "" : " unread"}`}>
      <Avatar username={n.actor.username} size={44} />
      <p>
        <a class="strong" href={`/app/u/${n.actor.username}`}>
          {n.actor.username}
        </a>
        {target ? <a href={target}>{what(n)}</a> : <span>{what(n)}</span>} <TimeAgo iso={n.created_at} />
        {n.read ? null : <span class="sr-only"> (new)</span>}
      </p>
    </li>
  );
}

export function Notifications() {
  useTitle("Notifications");
  const list = usePaged<Notification>("notifications", (cursor) =>
    api<NotificationPage>("GET", paged("/notifications", cursor, 30)),
  );
  const [marked, setMarked] = useState(false);
  const newest = list.items[0];
  useEffect(() => {
    // Seen once the screen shows them: everything up to the newest is read.
    if (!newest || marked || newest.read) return;
    setMarked(true);
    api<{ unread_count: number }>("POST", "/notifications/read", { up_to: newest.notification_id }).then(
      (answer) => unread.set(answer.unread_count),
      () => setMarked(false),
    );
  }, [newest?.notification_id]);
  return (
    <div class="column">
      <h1 class="page-title">Notifications</h1>
      {list.items.length ? (
        <ul class="notifications">
          {list.items.map((n) => (
            <Item key={n.notification_id} n={n} />
          ))}
        </ul>
      ) : list.done ? (
        <Empty title="Nothing yet">
          <p>When people like or comment on your posts, follow you or mention you, you'll see it here.</p>
        </Empty>
      ) : null}
      {list.loading ? <Loading label="Loading notifications" /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </div>
  );
}
