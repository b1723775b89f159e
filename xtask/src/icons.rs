//! `cargo xtask icons`: draws the app icon (a receiving code with a tick)
//! into `icons/` as RGBA PNGs. Tauri embeds them at build time, so they are
//! committed; this regenerates them without any image tool.

use image::{Rgba, RgbaImage, imageops};

const SIZE: u32 = 512;
const SAMPLES: u32 = 4;
const TEAL: [u8; 3] = [0x0f, 0x76, 0x6e];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];
const GOLD: [u8; 3] = [0xfb, 0xbf, 0x24];

fn in_rounded_rect(x: f32, y: f32, (x0, y0, x1, y1): (f32, f32, f32, f32), r: f32) -> bool {
    if x < x0 || x > x1 || y < y0 || y > y1 {
        return false;
    }
    let cx = x.clamp(x0 + r, x1 - r);
    let cy = y.clamp(y0 + r, y1 - r);
    (x - cx).powi(2) + (y - cy).powi(2) <= r * r
}

fn near_segment(x: f32, y: f32, (ax, ay): (f32, f32), (bx, by): (f32, f32), half_width: f32) -> bool {
    let (dx, dy) = (bx - ax, by - ay);
    let t = (((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
    (x - ax - t * dx).powi(2) + (y - ay - t * dy).powi(2) <= half_width * half_width
}

/// The colour at a point, or none outside the icon.
fn paint(x: f32, y: f32) -> Option<[u8; 3]> {
    if !in_rounded_rect(x, y, (16.0, 16.0, 496.0, 496.0), 104.0) {
        return None;
    }
    let tick = [(300.0, 356.0), (346.0, 402.0), (430.0, 300.0)];
    if near_segment(x, y, tick[0], tick[1], 22.0) || near_segment(x, y, tick[1], tick[2], 22.0) {
        return Some(GOLD);
    }
    for (ox, oy) in [(96.0, 96.0), (296.0, 96.0), (96.0, 296.0)] {
        let outer = in_rounded_rect(x, y, (ox, oy, ox + 120.0, oy + 120.0), 18.0);
        let hole = in_rounded_rect(x, y, (ox + 28.0, oy + 28.0, ox + 92.0, oy + 92.0), 6.0);
        let eye = in_rounded_rect(x, y, (ox + 42.0, oy + 42.0, ox + 78.0, oy + 78.0), 4.0);
        if (outer && !hole) || eye {
            return Some(WHITE);
        }
    }
    Some(TEAL)
}

fn draw() -> RgbaImage {
    RgbaImage::from_fn(SIZE, SIZE, |px, py| {
        let (mut sum, mut hits) = ([0u32; 3], 0u32);
        for sy in 0..SAMPLES {
            for sx in 0..SAMPLES {
                let x = px as f32 + (sx as f32 + 0.5) / SAMPLES as f32;
                let y = py as f32 + (sy as f32 + 0.5) / SAMPLES as f32;
                if let Some(c) = paint(x, y) {
                    hits += 1;
                    for i in 0..3 {
                        sum[i] += c[i] as u32;
                    }
                }
            }
        }
        if hits == 0 {
            return Rgba([0, 0, 0, 0]);
        }
        let alpha = (hits * 255 / (SAMPLES * SAMPLES)) as u8;
        Rgba([(sum[0] / hits) as u8, (sum[1] / hits) as u8, (sum[2] / hits) as u8, alpha])
    })
}

pub fn icons() -> anyhow::Result<()> {
    let dir = crate::workspace_root().join("icons");
    std::fs::create_dir_all(&dir)?;
    let big = draw();
    big.save(dir.join("icon.png"))?;
    for size in [32, 128, 256] {
        imageops::resize(&big, size, size, imageops::FilterType::Lanczos3).save(dir.join(format!("{size}x{size}.png")))?;
    }
    println!("icons written to {}", dir.display());
    Ok(())
}
