import { Empty } from "../components/Common";
import { useTitle } from "../title";

export function NotFound() {
  useTitle("Not found");
  return (
    <div class="column">
      <Empty title="This page isn't here" main>
        <p>
          The link may be broken. <a href="/app/">Go to your feed</a>.
        </p>
      </Empty>
    </div>
  );
}
