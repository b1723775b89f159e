fn main() {
    // Read when the script runs, not when it was compiled: a target dir
    // reused by a clone in another folder (CI) must look at this clone's ui.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let dist = std::path::Path::new(&manifest).join("../ui/dist/index.html");
    if !dist.exists() {
        panic!("ui/dist is missing: build the window first (cargo xtask ui, or cd ui && npm ci && npm run build)");
    }
    tauri_build::build()
}
