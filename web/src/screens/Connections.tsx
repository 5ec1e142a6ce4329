// A profile's followers or following (/app/u/{username}/followers, /following).
import { useRoute } from "preact-iso";
import { ErrorNote, Loading } from "../components/Common";
import { PeopleList } from "../components/People";
import { useTitle } from "../title";
import { NotFound } from "./NotFound";
import { useProfile } from "./Profile";

export function Connections() {
  const { params } = useRoute();
  const list = params.list === "followers" || params.list === "following" ? params.list : null;
  const { profile, error, load } = useProfile(params.username);
  useTitle(list ? `${params.username}: ${list}` : "Not found");
  if (!list) return <NotFound />;
  return (
    <div class="column">
      <h1 class="page-title">
        <a href={`/app/u/${params.username}`}>{params.username}</a>
        {list === "followers" ? ": followers" : ": following"}
      </h1>
      <ErrorNote error={error} onRetry={load} />
      {profile ? (
        <PeopleList
          path={list === "followers" ? `/users/${profile.user_id}/followers` : `/users/${profile.user_id}/following`}
          empty={list === "followers" ? "No followers yet." : "Not following anyone yet."}
        />
      ) : error ? null : (
        <Loading />
      )}
    </div>
  );
}
