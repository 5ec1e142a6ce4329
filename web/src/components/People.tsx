// Lists of people (likes, followers, following, story viewers), paged, each a link to the profile.
import type { ComponentChildren } from "preact";
import { api, paged } from "../api";
import { usePaged } from "../lists";
import type { Page, UserRef } from "../types";
import { Avatar, Empty, ErrorNote, Loading, MoreSentinel } from "./Common";
import { Dialog } from "./Dialog";

export function PersonRow({ user, children }: { user: UserRef; children?: ComponentChildren }) {
  return (
    <li class="person">
      <a href={`/app/u/${user.username}`}>
        <Avatar username={user.username} size={40} />
        <span class="strong">{user.username}</span>
      </a>
      {children}
    </li>
  );
}

export function PeopleList({ path, empty }: { path: string; empty: string }) {
  const list = usePaged<UserRef>(path, (cursor) => api<Page<UserRef>>("GET", paged(path, cursor, 30)));
  return (
    <>
      {list.items.length ? (
        <ul class="people">
          {list.items.map((user) => (
            <PersonRow key={user.user_id} user={user} />
          ))}
        </ul>
      ) : list.done ? (
        <Empty title={empty} />
      ) : null}
      {list.loading ? <Loading /> : null}
      <ErrorNote error={list.error} onRetry={list.loadMore} />
      <MoreSentinel onVisible={list.loadMore} active={!list.done && !list.loading && !list.error} />
    </>
  );
}

export function PeopleDialog({ title, path, onClose }: { title: string; path: string; onClose: () => void }) {
  return (
    <Dialog title={title} onClose={onClose} className="people-dialog">
      <PeopleList path={path} empty="Nobody yet." />
    </Dialog>
  );
}
