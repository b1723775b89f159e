// Copies the static files next to the compiled scripts: dist/ is what Tauri embeds.
import { cpSync, mkdirSync } from "node:fs";
mkdirSync("dist", { recursive: true });
cpSync("static", "dist", { recursive: true });
