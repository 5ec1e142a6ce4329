// Built into dist/, served at /app/ (locally by the gateway, on AWS by CloudFront from a private bucket).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/app/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", assetsInlineLimit: 0 },
});
