// A rendered image: srcset over the platform's sizes, lazy, sized before it loads, a blurhash until it does.
import { decode } from "blurhash";
import { useLayoutEffect, useRef, useState } from "preact/hooks";
import type { Renditions } from "../types";

const placeholders = new Map<string, string>();

/** The blurhash as a tiny PNG data URL, decoded once per hash. */
export function placeholder(hash: string | null | undefined): string | undefined {
  if (!hash) return undefined;
  let url = placeholders.get(hash);
  if (url === undefined) {
    try {
      const size = 32;
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = size;
      const context = canvas.getContext("2d");
      if (!context) return undefined;
      const image = context.createImageData(size, size);
      image.data.set(decode(hash, size, size));
      context.putImageData(image, 0, 0);
      url = canvas.toDataURL();
    } catch {
      url = "";
    }
    placeholders.set(hash, url);
  }
  return url || undefined;
}

/** The URL of one size; the CDN picks AVIF, WebP or JPEG from the browser's Accept, so the JPEG URL serves all. */
export function imageUrl(images: Renditions, size: string): string {
  return (images[size] ?? Object.values(images)[0]).jpeg;
}

export function srcset(images: Renditions, sizes: string[]): string {
  return sizes
    .filter((size) => images[size])
    .map((size) => `${images[size].jpeg} ${size}w`)
    .join(", ");
}

export function Photo({
  images,
  width,
  height,
  blurhash,
  alt,
  sizes,
  widths = ["640", "1080"],
  square = false,
  eager = false,
  ratio: frame,
}: {
  images: Renditions;
  width: number;
  height: number;
  blurhash?: string | null;
  alt: string;
  sizes: string;
  widths?: string[];
  square?: boolean;
  eager?: boolean;
  /** The frame's width:height when it is not the photo's own (a carousel shows every photo in its first one's). */
  ratio?: number;
}) {
  const [loaded, setLoaded] = useState(false);
  const ref = useRef<HTMLImageElement>(null);
  useLayoutEffect(() => {
    // An image the browser already had may finish before the listener is attached.
    if (ref.current?.complete && ref.current.naturalWidth > 0) setLoaded(true);
  }, []);
  const blur = loaded ? undefined : placeholder(blurhash);
  // The feed shows photos between 4:5 portrait and 1.91:1 landscape, as the big apps do; grids are square.
  const ratio = square ? 1 : frame ?? Math.min(1.91, Math.max(0.8, width / Math.max(1, height)));
  return (
    <div class="photo" style={{ aspectRatio: String(ratio), backgroundImage: blur ? `url(${blur})` : undefined }}>
      <img
        ref={ref}
        src={imageUrl(images, widths[0])}
        srcset={srcset(images, widths)}
        sizes={sizes}
        width={width}
        height={height}
        loading={eager ? "eager" : "lazy"}
        decoding="async"
        alt={alt}
        class={loaded ? "loaded" : ""}
        onLoad={() => setLoaded(true)}
        draggable={false}
      />
    </div>
  );
}
