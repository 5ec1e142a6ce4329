// A three-column grid of square thumbnails (explore, profiles, hashtags); each opens the post.
import { usePost } from "../posts";
import { altText } from "./PostCard";
import { Icon } from "./Icon";
import { Photo } from "./Photo";

function Tile({ postId }: { postId: string }) {
  const post = usePost(postId);
  if (!post) return null;
  const count = post.media?.length ?? 1;
  return (
    <li>
      <a href={`/app/p/${post.post_id}`} class="tile">
        <Photo
          images={post.images}
          width={post.width}
          height={post.height}
          blurhash={post.blurhash}
          alt={altText(post)}
          widths={["150", "640"]}
          sizes="(min-width: 768px) 311px, 33vw"
          square
        />
        {count > 1 ? (
          <span class="tile-badge">
            <Icon name="carousel" size={20} />
            <span class="sr-only">{`, ${count} photos`}</span>
          </span>
        ) : null}
      </a>
    </li>
  );
}

export function Grid({ ids, label }: { ids: string[]; label: string }) {
  return (
    <ul class="grid" aria-label={label}>
      {ids.map((id) => (
        <Tile key={id} postId={id} />
      ))}
    </ul>
  );
}
