// The shapes of the HTTP API (../shared/API.md) that the web app reads.

export interface UserRef {
  user_id: string;
  username: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export type Format = "jpeg" | "webp" | "avif";
export type Renditions = Record<string, Record<Format, string>>;

export interface Media {
  images: Renditions;
  width: number;
  height: number;
  blurhash?: string | null;
  alt_text?: string | null;
}

export interface Comment {
  comment_id: string;
  post_id: string;
  author: UserRef;
  text: string;
  created_at: string;
}

export interface Post {
  post_id: string;
  author: UserRef;
  caption: string;
  location: string | null;
  hashtags: string[];
  created_at: string;
  width: number;
  height: number;
  blurhash?: string | null;
  images: Renditions;
  like_count: number;
  comment_count: number;
  liked_by_me: boolean;
  saved_by_me?: boolean;
  comment_preview: Comment[];
  // v1.1 (carousels, alt text): used when the API sends them.
  media?: Media[];
  alt_text?: string | null;
  /** Unix ms of the author's last edit; null until edited. */
  edited_at?: number | null;
}

export interface Relationship {
  following: boolean;
  followed_by: boolean;
  blocking: boolean;
  /** You mute them: their posts and stories stay out of your feed, stories tray and explore (they aren't told). */
  muting: boolean;
  /** You asked to follow this private account; it has not approved yet. */
  requested?: boolean;
}

export interface Profile {
  user_id: string;
  username: string;
  display_name: string;
  bio: string;
  follower_count: number;
  following_count: number;
  post_count: number;
  relationship: Relationship;
  region?: string | null;
  highlights_enabled?: boolean | null;
  /** A private account: only its approved followers see its posts, stories and lists. */
  private?: boolean;
}

export interface Story {
  story_id: string;
  author: UserRef;
  created_at: string;
  expires_at: string;
  width: number;
  height: number;
  blurhash?: string | null;
  images: Renditions;
  seen: boolean;
  view_count?: number | null;
  /** "close_friends": only the author's close friends see it (marked with a green ring and a label). */
  audience?: "everyone" | "close_friends";
}

export interface TrayEntry {
  user: UserRef;
  has_unseen: boolean;
  latest_at: string;
  story_count: number;
  /** Some of the stories counted are for the author's close friends (a green ring). */
  close_friends?: boolean;
}

export interface StoryViewer {
  user: UserRef;
  viewed_at: string;
}

export interface StoryViewers extends Page<StoryViewer> {
  view_count: number;
}

export type NotificationType = "like" | "comment" | "follow" | "mention" | "follow_request" | "follow_accepted";

export interface Notification {
  notification_id: string;
  type: NotificationType;
  actor: UserRef;
  post_id?: string | null;
  comment_id?: string | null;
  others_count: number;
  created_at: string;
  read: boolean;
}

export interface NotificationPage extends Page<Notification> {
  unread_count: number;
}

export interface Tokens {
  id_token: string;
  access_token: string;
  refresh_token?: string;
  expires_in: number;
}

export interface UploadGrant {
  upload_id: string;
  target_id: string;
  url: string;
  fields: Record<string, string>;
  expires_at: string;
  /** A carousel's presigned POSTs, one per photo in order (when the request sent `items`). */
  uploads?: { url: string; fields: Record<string, string> }[] | null;
}

export type UploadState = "pending" | "processing" | "ready" | "rejected" | "failed";

export interface UploadStatus {
  upload_id: string;
  kind: "post" | "story";
  status: UploadState;
  reason?: string | null;
  target_id: string;
  /** A refused carousel: which photo (0-based) was refused. */
  item?: number | null;
}

export interface UserResult {
  user_id: string;
  username: string;
  display_name: string;
  follower_count: number;
  following: boolean;
}

export interface HashtagResult {
  tag: string;
  post_count: number;
}

// Reports and the moderation queue
export type ReportReason = "spam" | "nudity" | "violence" | "harassment" | "hate" | "self_harm" | "other";
export type ModerationAction = "dismiss" | "remove" | "suspend" | "restore";

export interface ReportTarget {
  post_id?: string;
  comment_id?: string;
  story_id?: string;
  user_id?: string;
}

export interface ReportedPreview {
  author: UserRef | null;
  caption: string | null;
  text: string | null;
  image_url: string | null;
  bio: string | null;
}

export interface ModerationEntry {
  report_id: string;
  target: ReportTarget;
  reasons: ReportReason[];
  report_count: number;
  first_reported_at: string;
  last_reported_at: string;
  status: "open" | "resolved";
  action: ModerationAction | null;
  resolved_at: string | null;
  account_id: string;
  account: UserRef | null;
  suspended: boolean;
  preview: ReportedPreview | null;
}
