fn main() {
    let dist = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/dist/index.html");
    if !dist.exists() {
        panic!("ui/dist is missing: build the window first (cargo xtask ui, or cd ui && npm ci && npm run build)");
    }
    tauri_build::build()
}
