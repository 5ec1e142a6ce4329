// What several screens share besides the session: the open upload dialog, the story being played, the tray's and
// the notification badge's freshness.
import { forgetOnUserChange } from "./session";
import { createStore } from "./store";
import type { UserRef } from "./types";

export type UploadKind = "post" | "story";

export const uploadKind = createStore<UploadKind | null>(null);

export function openUpload(kind: UploadKind = "post"): void {
  uploadKind.set(kind);
}

export interface Playing {
  id: number; // a new one for every play, so the viewer starts afresh
  people: UserRef[]; // whose stories to play, in order
  start: number;
  highlights: boolean; // archived stories: no views are recorded
  startStory?: string;
}

export const playing = createStore<Playing | null>(null);
let plays = 0;

export function playStories(people: UserRef[], start = 0, options: Partial<Omit<Playing, "id">> = {}): void {
  plays += 1;
  playing.set({ id: plays, people, start, highlights: false, ...options });
}

// Bumped when stories change (one was watched, posted or deleted), so the tray reloads.
export const trayVersion = createStore(0);

export function storiesChanged(): void {
  trayVersion.set(trayVersion.get() + 1);
}

// Unread notifications, for the badge in the navigation.
export const unread = createStore(0);

forgetOnUserChange(() => {
  uploadKind.set(null);
  playing.set(null);
  unread.set(0);
});
