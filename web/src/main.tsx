// Starts the web app: reads where the API is, then renders.
import { render } from "preact";
import { loadConfig } from "./api";
import { App } from "./App";
import "./styles.css";

const root = document.getElementById("root") as HTMLElement;

loadConfig().then(
  () => render(<App />, root),
  (error: unknown) => {
    root.innerHTML = "";
    const note = document.createElement("p");
    note.className = "fatal";
    note.setAttribute("role", "alert");
    note.textContent = `Aperture could not start: ${String(error)}. Reload the page to try again.`;
    root.append(note);
  },
);
