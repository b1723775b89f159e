//! Reading a receiving code from a picture of it (PNG or JPEG).

/// The text of the first QR code found in a PNG or JPEG image.
pub fn decode(image_bytes: &[u8]) -> Result<String, String> {
    let img = image::load_from_memory(image_bytes).map_err(|e| format!("not a PNG or JPEG image: {e}"))?.to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or("no QR code found in the image")?;
    let (_, text) = grid.decode().map_err(|e| format!("the QR code cannot be read: {e}"))?;
    if text.is_empty() {
        return Err("the QR code is empty".into());
    }
    Ok(text)
}
