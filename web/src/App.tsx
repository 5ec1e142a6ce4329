// The app shell: signed out, the sign-in and sign-up screens; signed in, the navigation and the screens by URL.
import { LocationProvider, Route, Router, useLocation } from "preact-iso";
import { useEffect } from "preact/hooks";
import { Nav } from "./components/Nav";
import { StoryViewer } from "./components/Stories";
import { UploadHost } from "./components/Upload";
import { Explore } from "./screens/Explore";
import { Feed } from "./screens/Feed";
import { NotFound } from "./screens/NotFound";
import { Notifications } from "./screens/Notifications";
import { PostView } from "./screens/PostView";
import { Profile } from "./screens/Profile";
import { Connections } from "./screens/Connections";
import { Settings } from "./screens/Settings";
import { SignIn, SignUp } from "./screens/SignIn";
import { session } from "./session";
import { useStore } from "./store";

const PUBLIC = new Set(["/app/signin", "/app/signup"]);

function Screens() {
  const me = useStore(session);
  const { path, url, query, route } = useLocation();
  const isPublic = PUBLIC.has(path);
  useEffect(() => {
    if (!me && !isPublic) route(`/app/signin?next=${encodeURIComponent(url)}`, true);
    else if (me && isPublic) route(query.next?.startsWith("/app/") ? query.next : "/app/", true);
  }, [me, isPublic]);
  // A new screen starts at its top; a list that is returned to restores its own place after this.
  useEffect(() => scrollTo(0, 0), [path]);

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
      <main id="main" tabIndex={-1}>
        <Router>
          <Route path="/app" component={Feed} />
          <Route path="/app/explore" component={Explore} />
          <Route path="/app/notifications" component={Notifications} />
          <Route path="/app/settings" component={Settings} />
          <Route path="/app/p/:postId" component={PostView} />
          <Route path="/app/u/:username" component={Profile} />
          <Route path="/app/u/:username/:list" component={Connections} />
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
