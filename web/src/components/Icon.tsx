// Line icons in the style of the platform (24px, currentColor); decorative: the control around each has the name.
const PATHS = {
  home: "M3 10.5 12 3l9 7.5V21h-6v-6H9v6H3z",
  explore: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm4.5 5.5-2.7 6.3-6.3 2.7 2.7-6.3z",
  plus: "M12 3h0a9 9 0 0 1 9 9v0a9 9 0 0 1-9 9h0a9 9 0 0 1-9-9v0a9 9 0 0 1 9-9zM12 7.5v9M7.5 12h9",
  heart:
    "M12 20.5s-7.5-4.6-9.3-9.3C1.5 8 3.6 4.5 7.1 4.5c2 0 3.4 1.1 4.9 2.9 1.5-1.8 2.9-2.9 4.9-2.9 3.5 0 5.6 3.5 4.4 6.7-1.8 4.7-9.3 9.3-9.3 9.3z",
  comment: "M20.7 16.3A9 9 0 1 0 17 20l4 1z",
  bookmark: "M6 3.5h12v17l-6-4.5-6 4.5z",
  user: "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm-8 9c0-4 3.6-6.5 8-6.5s8 2.5 8 6.5",
  settings:
    "M12 15.5a3.5 3.5 0 1 0 0-7 3.5 3.5 0 0 0 0 7zM19.4 13a7.5 7.5 0 0 0 0-2l2-1.6-2-3.4-2.4 1a7.4 7.4 0 0 0-1.7-1L15 3.5h-4L10.6 6a7.4 7.4 0 0 0-1.7 1l-2.4-1-2 3.4 2 1.6a7.5 7.5 0 0 0 0 2l-2 1.6 2 3.4 2.4-1a7.4 7.4 0 0 0 1.7 1l.4 2.5h4l.4-2.5a7.4 7.4 0 0 0 1.7-1l2.4 1 2-3.4z",
  close: "M5 5l14 14M19 5 5 19",
  left: "M15 4 7 12l8 8",
  right: "M9 4l8 8-8 8",
  pause: "M8 5v14M16 5v14",
  play: "M7 4.5v15l12-7.5z",
  image: "M4 4h16v16H4zM4 16l5-5 4 4 3-3 4 4M15.5 8.5h.01",
  carousel: "M8 8h12v12H8zM4 16V4h12",
  search: "M10.5 17a6.5 6.5 0 1 0 0-13 6.5 6.5 0 0 0 0 13zM15.5 15.5 20.5 20.5",
  flag: "M5 21V4M5 4h11l-2 4 2 4H5",
} as const;

export type IconName = keyof typeof PATHS;

export function Icon({ name, filled = false, size = 24 }: { name: IconName; filled?: boolean; size?: number }) {
  return (
    <svg
      class="icon"
      width={size}
      height={size}
      viewBox="0 0 24 24"
      aria-hidden="true"
      focusable="false"
      fill={filled ? "currentColor" : "none"}
      stroke="currentColor"
      stroke-width="1.9"
      stroke-linecap="round"
      stroke-linejoin="round"
    >
      <path d={PATHS[name]} />
    </svg>
  );
}
