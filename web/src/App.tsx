// The app shell: signed out, the sign-in and sign-up screens; signed in, the navigation and the screens by URL.
import type { ComponentType } from "preact";
import { LocationProvider, Route, Router, useLocation, useRoute } from "preact-iso";
import { useEffect, useRef } from "preact/hooks";
import { Nav } from "./components/Nav";
import { StoryViewer } from "./components/Stories";
import { UploadHost } from "./components/Upload";
import { Explore } from "./screens/Explore";
import { Feed } from "./screens/Feed";
import { FollowRequests } from "./screens/FollowRequests";
import { NotFound } from "./screens/NotFound";
import { Notifications } from "./screens/Notifications";
import { PostView } from "./screens/PostView";
import { Profile } from "./screens/Profile";
import { Connections } from "./screens/Connections";
import { CloseFriends } from "./screens/CloseFriends";
import { Settings } from "./screens/Settings";
import { Hashtag } from "./screens/Hashtag";
import { Moderation } from "./screens/Moderation";
import { Search } from "./screens/Search";
import { SignIn, SignUp } from "./screens/SignIn";
import { session } from "./session";
import { useStore } from "./store";

const PUBLIC = new Set(["/app/signin", "/app/signup"]);

/** The screen started afresh for each value of its route parameters (another post, another person): nothing
 * typed, loaded or half-done for one shows on the next. */
function fresh(Screen: ComponentType): ComponentType {
  return function Fresh() {
    const { params } = useRoute();
    return <Screen key={JSON.stringify(params)} />;
  };
}

const PostScreen = fresh(PostView);
const ProfileScreen = fresh(Profile);
const ConnectionsScreen = fresh(Connections);
const HashtagScreen = fresh(Hashtag);
const ModerationScreen = fresh(Moderation);

function Screens() {
  const me = useStore(session);
  const { path, url, query, route } = useLocation();
  const isPublic = PUBLIC.has(path);
  useEffect(() => {
    if (!me && !isPublic) route(`/app/signin?next=${encodeURIComponent(url)}`, true);
    else if (me && isPublic) route(query.next?.startsWith("/app/") ? query.next : "/app/", true);
  }, [me, isPublic]);
  // After moving to another screen, focus goes to its main region, so a screen reader starts reading there (unless
  // the screen has put it somewhere in particular, as the comment composer).
  const main = useRef<HTMLElement>(null);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) first.current = false;
    else if (!main.current?.contains(document.activeElement)) main.current?.focus({ preventScroll: true });
  }, [path]);

  if (!me || isPublic) {
    return (
      <main id="main" class="signed-out">
        <Router>
          <Route path="/app/signin" component={SignIn} />
          <Route path="/app/signup" component={SignUp} />
          <Route default component={SignIn} />
        </Router>
      </main>
    );
  }
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <Nav />
      <main id="main" tabIndex={-1} ref={main}>
        <Router>
          <Route path="/app" component={Feed} />
          <Route path="/app/explore" component={Explore} />
          <Route path="/app/notifications" component={Notifications} />
          <Route path="/app/settings" component={Settings} />
          <Route path="/app/settings/close-friends" component={CloseFriends} />
          <Route path="/app/requests" component={FollowRequests} />
          <Route path="/app/p/:postId" component={PostScreen} />
          <Route path="/app/u/:username" component={ProfileScreen} />
          <Route path="/app/u/:username/:list" component={ConnectionsScreen} />
          <Route path="/app/search" component={Search} />
          <Route path="/app/moderation" component={ModerationScreen} />
          <Route path="/app/tags/:tag" component={HashtagScreen} />
          <Route default component={NotFound} />
        </Router>
      </main>
      <UploadHost />
      <StoryViewer />
    </div>
  );
}

export function App() {
  return (
    <LocationProvider scope="/app">
      <Screens />
    </LocationProvider>
  );
}
