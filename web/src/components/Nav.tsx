// The main navigation: a side bar on desktop, a bar at the bottom on a phone; the unread badge on Notifications.
import { useLocation } from "preact-iso";
import { useEffect } from "preact/hooks";
import { api, signOutEverywhere } from "../api";
import { isModerator, session } from "../session";
import { openUpload, unread } from "../state";
import { useStore } from "../store";
import type { NotificationPage } from "../types";
import { Icon, type IconName } from "./Icon";

const BADGE_REFRESH_MS = 60_000;

export function refreshUnread(): void {
  api<NotificationPage>("GET", "/notifications?limit=1").then(
    (page) => unread.set(page.unread_count),
    () => undefined, // the badge keeps its last value; the notifications screen shows errors
  );
}

function NavLink({ href, icon, label, current, badge = 0 }: { href: string; icon: IconName; label: string; current: boolean; badge?: number }) {
  return (
    <li>
      <a
        href={href}
        class="nav-item"
        aria-current={current ? "page" : undefined}
        aria-label={badge > 0 ? `${label}, ${badge} unread` : undefined}
      >
        <span class="nav-icon">
          <Icon name={icon} filled={current && icon !== "explore" && icon !== "settings" && icon !== "search" && icon !== "flag"} />
          {badge > 0 ? (
            // The number is drawn by CSS (attr), so the link's name reads "Notifications, 3 unread".
            <span class="badge" aria-hidden="true" data-count={badge > 99 ? "99+" : String(badge)} />
          ) : null}
        </span>
        <span class="nav-label">{label}</span>
      </a>
    </li>
  );
}

export function Nav() {
  const me = useStore(session);
  const count = useStore(unread);
  const { path } = useLocation();
  useEffect(refreshUnread, [path]);
  useEffect(() => {
    const timer = setInterval(() => document.visibilityState === "visible" && refreshUnread(), BADGE_REFRESH_MS);
    const onVisible = () => document.visibilityState === "visible" && refreshUnread();
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, []);
  if (!me) return null;
  const profile = `/app/u/${me.username}`;
  return (
    <header class="side">
      <a href="/app/" class="brand">
        <img src="/app/favicon.svg" alt="" width={28} height={28} />
        <span>Aperture</span>
      </a>
      <nav aria-label="Main">
        <ul>
          <NavLink href="/app/" icon="home" label="Home" current={path === "/app"} />
          <NavLink href="/app/explore" icon="explore" label="Explore" current={path === "/app/explore"} />
          <NavLink href="/app/search" icon="search" label="Search" current={path === "/app/search"} />
          <li>
            <button type="button" class="nav-item" onClick={() => openUpload("post")}>
              <span class="nav-icon">
                <Icon name="plus" />
              </span>
              <span class="nav-label">New post</span>
            </button>
          </li>
          <NavLink
            href="/app/notifications"
            icon="heart"
            label="Notifications"
            current={path === "/app/notifications"}
            badge={count}
          />
          <NavLink href={profile} icon="user" label="Profile" current={path === profile} />
          {isModerator(me) ? (
            <NavLink href="/app/moderation" icon="flag" label="Moderation" current={path === "/app/moderation"} />
          ) : null}
          <li class="desktop-only">
            <a href="/app/settings" class="nav-item" aria-current={path === "/app/settings" ? "page" : undefined}>
              <span class="nav-icon">
                <Icon name="settings" />
              </span>
              <span class="nav-label">Settings</span>
            </a>
          </li>
        </ul>
      </nav>
      <button
        type="button"
        class="button secondary sign-out desktop-only"
        onClick={() => void signOutEverywhere()}
      >
        Sign out
      </button>
    </header>
  );
}
