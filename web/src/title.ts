import { useEffect } from "preact/hooks";

/** Names the page after the screen, as a tab and a screen reader show it. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} • Aperture` : "Aperture";
  }, [title]);
}
