// A post's photos: one at a time, moved by swiping (touch), by the previous/next buttons or the arrow keys, with
// dots that show where you are. A one-photo post is just its photo.
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Media, Post } from "../types";
import { Icon } from "./Icon";
import { Photo } from "./Photo";

const SWIPE_PX = 40;

/** Quick presses of previous/next are not a double tap on the photo (which likes the post). */
const keepToCarousel = (event: Event) => event.stopPropagation();

/** Every photo of a post in order; a post from before carousels (or an older API) has its own one. */
export function photosOf(post: Post): Media[] {
  if (post.media?.length) return post.media;
  return [{ images: post.images, width: post.width, height: post.height, blurhash: post.blurhash, alt_text: post.alt_text }];
}

/** A photo's alt text: what the author wrote for it, else (first photo) the caption, else who posted it. */
export function photoAlt(post: Post, photo: Media, index: number, total: number): string {
  if (photo.alt_text) return photo.alt_text;
  const fallback = post.caption || `Photo by ${post.author.username}`;
  return total > 1 ? `${fallback} (photo ${index + 1} of ${total})` : fallback;
}

export function Carousel({ post, sizes, eager = false }: { post: Post; sizes: string; eager?: boolean }) {
  const photos = photosOf(post);
  const [index, setIndex] = useState(0);
  const start = useRef<{ x: number; y: number } | null>(null);
  const first = photos[0];
  // Every photo is shown in the first one's frame (4:5..1.91:1), so the card does not jump while moving through.
  const ratio = Math.min(1.91, Math.max(0.8, first.width / Math.max(1, first.height)));
  if (photos.length === 1) {
    return (
      <Photo
        images={first.images}
        width={first.width}
        height={first.height}
        blurhash={first.blurhash}
        alt={photoAlt(post, first, 0, 1)}
        sizes={sizes}
        eager={eager}
      />
    );
  }
  const total = photos.length;
  const go = (to: number) => setIndex(Math.max(0, Math.min(total - 1, to)));
  // A button that takes you to the last (or first) photo goes away with it: keyboard focus moves to the other one
  // rather than falling to the page.
  const previousButton = useRef<HTMLButtonElement>(null);
  const nextButton = useRef<HTMLButtonElement>(null);
  const pressed = useRef<"previous" | "next" | null>(null);
  // (A layout effect: focus moves in the same task as the button goes, so nothing can take it in between.)
  useLayoutEffect(() => {
    if (pressed.current === "next" && index === total - 1) previousButton.current?.focus();
    if (pressed.current === "previous" && index === 0) nextButton.current?.focus();
    pressed.current = null;
  }, [index, total]);
  return (
    <div
      class="carousel"
      role="group"
      aria-roledescription="carousel"
      aria-label={`${total} photos`}
      style={{ aspectRatio: String(ratio) }}
      onPointerDown={(event) => {
        if (event.pointerType !== "mouse") start.current = { x: event.clientX, y: event.clientY };
      }}
      onPointerUp={(event) => {
        const from = start.current;
        start.current = null;
        if (!from) return;
        const dx = event.clientX - from.x;
        // A swipe is mostly sideways; anything else is a tap (or a scroll) and is left to the card.
        if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > Math.abs(event.clientY - from.y)) {
          event.stopPropagation();
          go(index + (dx < 0 ? 1 : -1));
        }
      }}
      onPointerCancel={() => {
        start.current = null;
      }}
      onKeyDown={(event) => {
        if (event.key === "ArrowRight") go(index + 1);
        else if (event.key === "ArrowLeft") go(index - 1);
      }}
    >
      <div class="carousel-track" style={{ transform: `translateX(${-100 * index}%)` }}>
        {photos.map((photo, i) => (
          <div
            key={i}
            class="carousel-slide"
            role="group"
            aria-roledescription="slide"
            aria-label={`Photo ${i + 1} of ${total}`}
            aria-hidden={i === index ? undefined : "true"}
          >
            <Photo
              images={photo.images}
              width={photo.width}
              height={photo.height}
              blurhash={photo.blurhash}
              alt={photoAlt(post, photo, i, total)}
              sizes={sizes}
              eager={eager && i <= 1}
              ratio={ratio}
            />
          </div>
        ))}
      </div>
      {index > 0 ? (
        <button
          type="button"
          class="carousel-button previous"
          ref={previousButton}
          onDblClick={keepToCarousel}
          onPointerUp={keepToCarousel}
          aria-label={`Previous photo (${index} of ${total})`}
          onClick={() => {
            pressed.current = "previous";
            go(index - 1);
          }}
        >
          <Icon name="left" size={18} />
        </button>
      ) : null}
      {index < total - 1 ? (
        <button
          type="button"
          class="carousel-button next"
          ref={nextButton}
          onDblClick={keepToCarousel}
          onPointerUp={keepToCarousel}
          aria-label={`Next photo (${index + 2} of ${total})`}
          onClick={() => {
            pressed.current = "next";
            go(index + 1);
          }}
        >
          <Icon name="right" size={18} />
        </button>
      ) : null}
      <ol class="carousel-dots" aria-label={`Photo ${index + 1} of ${total}`}>
        {photos.map((_, i) => (
          <li key={i} class={i === index ? "on" : ""} aria-current={i === index ? "true" : undefined}>
            <span class="sr-only">{`Photo ${i + 1}`}</span>
          </li>
        ))}
      </ol>
      <p class="sr-only" aria-live="polite">{`Photo ${index + 1} of ${total}`}</p>
    </div>
  );
}
