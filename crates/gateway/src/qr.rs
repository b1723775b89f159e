//! QR codes: rendered to PNG on the server (cached, since a merchant has
//! few codes) and decoded from uploaded images.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use image::{ImageFormat, Luma};
use qrcode::QrCode;
use std::collections::HashMap;
use std::io::Cursor;
use std::sync::{Arc, Mutex};

const CACHE_LIMIT: usize = 1024;

#[derive(Default)]
pub struct QrCache {
    png: Mutex<HashMap<String, Arc<Vec<u8>>>>,
}

impl QrCache {
    /// The PNG of a QR code encoding `text` (empty when it cannot be encoded).
    pub fn png(&self, text: &str) -> Arc<Vec<u8>> {
        if let Some(hit) = self.png.lock().ok().and_then(|c| c.get(text).cloned()) {
            return hit;
        }
        let png = Arc::new(render_png(text).unwrap_or_default());
        if let Ok(mut cache) = self.png.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(text.to_owned(), png.clone());
        }
        png
    }

    pub fn base64_png(&self, text: &str) -> String {
        STANDARD.encode(self.png(text).as_slice())
    }
}

pub fn render_png(text: &str) -> Option<Vec<u8>> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let img = code.render::<Luma<u8>>().min_dimensions(256, 256).quiet_zone(true).build();
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, ImageFormat::Png).ok()?;
    Some(out.into_inner())
}

pub use jiufu_protocol::qr_image::decode;

#[cfg(test)]
mod tests {
    #[test]
    fn render_then_decode_round_trips() {
        let text = "https://qr.alipay.com/fkx12345abcde";
        let png = super::render_png(text).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(super::decode(&png).unwrap(), text);
        assert!(super::decode(b"not an image").is_err());
    }
}
